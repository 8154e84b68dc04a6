public import GatehouseFormat

extension DirectoryClient {
    /// An organisation as the directory lists it.
    public struct Partner: Sendable {
        /// Its card, from the admission entry.
        public let card: IdentityCard
        /// The index of the admission entry in the log.
        public let index: UInt64
        /// The size of the checkpoint its inclusion was proven against.
        public let treeSize: UInt64
    }

    /// The organisation `org` as the verified directory lists it at `now`: the latest admission of
    /// its ODS code, inside its validity window and not revoked, proven included in the trusted
    /// checkpoint. Nil when the gateway joined no network or the directory does not admit `org`.
    public func partner(_ org: ODSCode, now: UInt64 = KeyStore.now()) throws(KitError) -> Partner? {
        guard let (listing, size) = try listing(org), listing.isValid(at: now) else { return nil }
        return Partner(card: listing.card, index: listing.index, treeSize: size)
    }

    /// True when the verified directory lists `org` but not at `now`: revoked (from the time the
    /// revocation names on) or outside its admission's window. Its bundles are refused as from an
    /// unknown sender, not held for a card (DIRECTORY.md §7.3): the directory has spoken.
    public func withdraws(_ org: ODSCode, now: UInt64 = KeyStore.now()) throws(KitError) -> Bool {
        guard let (listing, _) = try listing(org) else { return false }
        return !listing.isValid(at: now)
    }

    /// The latest listing of `org`, its entries proven included, and the trusted tree's size.
    private func listing(_ org: ODSCode) throws(KitError) -> (DirectoryState.Listing, UInt64)? {
        guard let loaded = try DirectoryCache.shared.load(self), let body = loaded.mirror.body else { return nil }
        let state = try DirectoryCache.shared.state(org, home: home.path, in: loaded) { () throws(KitError) in
            try Self.state(of: org, at: loaded.byOrg[org] ?? [], in: loaded.mirror)
        }
        return state.listings[org].map { ($0, body.size) }
    }

    /// The state of the entries at `indices` (all naming one organisation), each proven included.
    static func state(of org: ODSCode, at indices: [Int], in mirror: DirectoryMirror) throws(KitError) -> DirectoryState
    {
        var state = try! DirectoryState(entries: [])
        for index in indices {
            let entry: DirectoryEntry
            do { entry = try mirror.provenEntry(UInt64(index)) } catch {
                throw .invalidCard("directory entry \(index): \(error.detail)")
            }
            guard entry.org == org else { throw .invalidCard("directory entry \(index) is not about \(org)") }
            state.apply(entry, at: UInt64(index))
        }
        return state
    }

    /// Every organisation the directory admits at `now` (for `partners list`).
    public func partners(now: UInt64 = KeyStore.now()) throws(KitError) -> [Partner] {
        guard let mirror = try mirror(), let body = mirror.body else { return [] }
        let state: DirectoryState
        do { state = try DirectoryState(entries: mirror.log.entries) } catch {
            throw .invalidCard(error.detail, path: log.path)
        }
        return state.listings.values.filter { $0.isValid(at: now) }.sorted { $0.index < $1.index }.map {
            Partner(card: $0.card, index: $0.index, treeSize: body.size)
        }
    }

}
