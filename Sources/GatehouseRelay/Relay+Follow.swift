import Foundation
public import GatehouseFormat
public import GatehouseKit

extension Relay {
    /// `directory/`: the published directory this relay serves read-only (DIRECTORY.md §5).
    public var directoryPath: String { path + "/directory" }
    /// `follow/`: the relay's own verified copy of the directory it follows, as a gateway keeps one.
    public var followPath: String { path + "/follow" }
    /// `follow/registered`: the organisations this relay registered because the directory admits
    /// them, one ODS code a line. Only these are taken off when the directory drops them; an
    /// organisation the operator added by hand stays until `relay remove`.
    var followedListPath: String { followPath + "/registered" }

    /// What following the directory did.
    public struct FollowReport: Sendable {
        /// The sync's outcome.
        public let outcome: DirectoryClient.SyncOutcome
        /// Organisations registered or updated from the directory.
        public var registered: [ODSCode] = []
        /// Organisations taken off because the directory revoked them or their admission ended.
        public var removed: [ODSCode] = []
        /// Admitted organisations whose cards name no SSH key, so they cannot log in.
        public var skipped: [ODSCode] = []
    }

    /// Pins `card` (first time only), verifies the directory in `source` (by default this relay's
    /// own `directory/`) from the checkpoint trusted before, and brings the registrations in line
    /// with it: every organisation admitted now is registered (its SSH key in `authorized_keys`, its
    /// mailbox made); one this relay registered from the directory and that it no longer admits is
    /// removed. Nothing changes when the directory is refused (a rollback or a fork).
    public func follow(
        card: NetworkCard?, source: TileFolder? = nil, gatehouse: String,
        now: UInt64 = KeyStore.now()
    ) throws(KitError) -> FollowReport {
        try FileOperations.makeDirectory(followPath, mode: 0o700)
        let client = DirectoryClient(home: GatehouseHome(path: followPath))
        if let card { try client.join(card) }
        let outcome = try client.sync(from: source ?? TileFolder(path: directoryPath), now: now)
        var report = FollowReport(outcome: outcome)
        guard case .updated = outcome, let mirror = try client.mirror() else { return report }
        let state: DirectoryState
        do { state = try DirectoryState(entries: mirror.log.entries) } catch {
            throw .invalidCard(error.detail, path: followPath)
        }
        var followed = try followedOrganisations()
        let registered = Dictionary(try cards().map { ($0.org, $0) }, uniquingKeysWith: { a, _ in a })
        for listing in state.listings.values.sorted(by: { $0.index < $1.index }) {
            let org = listing.admission.org
            if listing.isValid(at: now) {
                guard listing.card.sshKey != nil else {
                    report.skipped.append(org)
                    continue
                }
                let mine = followed.contains(org)
                // A hand-made registration with another root is the operator's: left alone.
                if let current = registered[org],
                    current == listing.card || (!mine && current.rootKey != listing.card.rootKey)
                {
                    continue
                }
                if let current = registered[org], current.rootKey == listing.card.rootKey,
                    current.created >= listing.card.created
                {
                    continue
                }
                // The card and mailbox now; authorized_keys once at the end (rewriting it per
                // organisation would parse every registered card again each time).
                try FileOperations.makeDirectory("\(mailboxesPath)/\(org.value)", mode: 0o700)
                try FileOperations.replaceAtomically(
                    at: "\(cardsPath)/\(org.value).card", contents: Array(listing.card.text.utf8),
                    mode: 0o644)
                // Only a registration the directory made is the directory's to take off again.
                if registered[org] == nil || mine { followed.insert(org) }
                report.registered.append(org)
            } else if followed.contains(org), registered[org] != nil {
                _ = try remove(org, gatehouse: gatehouse, now: now)
                followed.remove(org)
                report.removed.append(org)
            }
        }
        if !report.registered.isEmpty { try writeAuthorizedKeys(gatehouse: gatehouse) }
        try FileOperations.replaceAtomically(
            at: followedListPath, contents: Array(followed.map(\.value).sorted().map { $0 + "\n" }.joined().utf8),
            mode: 0o600)
        return report
    }

    func followedOrganisations() throws(KitError) -> Set<ODSCode> {
        guard let bytes = try FileOperations.read(at: followedListPath, limit: 1 << 20) else { return [] }
        return Set(
            String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { try? ODSCode(String($0)) })
    }
}
