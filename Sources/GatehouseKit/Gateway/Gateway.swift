import Glibc
public import GatehouseCrypto
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

    /// The signing key `header` says signed the bundle, if it is the pinned one: this
    /// organisation's own, or a partner's from its pinned card.
    public func senderKey(for header: BundleHeader) throws(FormatError) -> SigningPublicKey {
        let card: IdentityCard?
        do {
            let own = try keys.loadOwnCard()
            card = own.org == header.sender ? own : try partners.card(for: header.sender)
        } catch {
            throw .io("reading the identity card of \(header.sender) failed: \(error.message)")
        }
        guard let card else {
            throw .unknownSender("\(header.sender) is not a known partner (no pinned identity card)")
        }
        guard card.signingKeyID == header.senderKeyID else {
            throw .unknownSender("signed with \(header.sender)'s key \(header.senderKeyID), but \(header.sender)'s pinned card names signing key \(card.signingKeyID)")
        }
        return card.signingKey
    }

    /// A ``KitError`` for a failed system call on a file the user named (`invalidInput`) or on
    /// an output (`io`).
    static func error(_ error: SystemError, input: Bool) -> KitError {
        if input || error.code == EEXIST || error.code == ENOTEMPTY {
            return error.code == EEXIST || error.code == ENOTEMPTY
                ? .fileExists(error.description, path: error.path)
                : .invalidInput(error.description, path: error.path)
        }
        return .io(error.description + (error.isDiskFull ? " (the disk is full)" : ""), path: error.path)
    }
}
