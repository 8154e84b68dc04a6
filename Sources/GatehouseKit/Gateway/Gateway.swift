import Glibc
import GatehouseCrypto
public import GatehouseFormat

/// One organisation's gateway: its home folder, keys and pinned partners, and the operations
/// that seal and open bundles with them. The command line and the daemon both go through here.
public struct Gateway: Sendable {
    /// The home folder.
    public let home: GatehouseHome
    /// Secret keys and the own identity card.
    public let keys: KeyStore
    /// Pinned partner cards.
    public let partners: PartnerStore

    /// The gateway for an initialised home.
    public init(home: GatehouseHome) {
        self.home = home
        keys = KeyStore(home: home)
        partners = PartnerStore(home: home)
    }

    /// The signing key `header` says signed the bundle, if the sender's key manifest accepts it
    /// for a signature made at the header's time (FORMAT.md §5.1): this organisation's own, or a
    /// partner's from its pinned card. Throws `unknownSender`, `unknownKey`, `revokedKey` or
    /// `expired` otherwise.
    public func senderKey(for header: BundleHeader, now: UInt64 = KeyStore.now()) throws(FormatError) -> SignerKey {
        let card = try signerCard(header.sender)
        return try card.signer(header.senderKeyID, signedAt: header.createdAt, now: now)
    }

    /// The card that says which keys `org` signs with: the own card, or the partner's pinned one.
    public func signerCard(_ org: ODSCode) throws(FormatError) -> IdentityCard {
        let card: IdentityCard?
        do {
            let own = try keys.loadOwnCard()
            card = own.org == org ? own : try partners.resolvedCard(for: org)
        } catch {
            throw .io("reading the identity card of \(org) failed: \(error.message)")
        }
        guard let card else {
            throw .unknownSender("\(org) is not a known partner (no pinned identity card)")
        }
        return card
    }

    /// A ``KitError`` for a failed system call on a file the user named (`invalidInput`) or on
    /// an output (`io`).
    static func error(_ error: SystemError, input: Bool) -> KitError {
        if error.foundType != nil { return .notRegularFile(error.description, path: error.path) }
        if input || error.code == EEXIST || error.code == ENOTEMPTY {
            return error.code == EEXIST || error.code == ENOTEMPTY
                ? .fileExists(error.description, path: error.path)
                : .invalidInput(error.description, path: error.path)
        }
        return .io(error.description + (error.isDiskFull ? " (the disk is full)" : ""), path: error.path)
    }
}
