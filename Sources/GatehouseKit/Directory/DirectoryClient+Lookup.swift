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
        guard let mirror = try mirror(), let body = mirror.body else { return nil }
        return try Self.partner(org, in: mirror, treeSize: body.size, now: now)
    }

    /// Every organisation the directory admits at `now` (for `partners list`).
    public func partners(now: UInt64 = KeyStore.now()) throws(KitError) -> [Partner] {
        guard let mirror = try mirror(), let body = mirror.body else { return [] }
        let state: DirectoryState
        do { state = try DirectoryState(entries: mirror.log.entries) } catch { throw .invalidCard(error.detail, path: log.path) }
        return state.listings.values.filter { $0.isValid(at: now) }.sorted { $0.index < $1.index }.map {
            Partner(card: $0.card, index: $0.index, treeSize: body.size)
        }
    }

    static func partner(_ org: ODSCode, in mirror: DirectoryMirror, treeSize: UInt64, now: UInt64) throws(KitError) -> Partner? {
        let state = try entries(of: org, in: mirror, treeSize: treeSize)
        guard let listing = state.listings[org], listing.isValid(at: now) else { return nil }
        return Partner(card: listing.card, index: listing.index, treeSize: treeSize)
    }

    /// The state of the entries naming `org`, each proven included in the tree of `treeSize`.
    /// Only those entries are parsed: the line `org: ODS` is the third of every entry.
    static func entries(of org: ODSCode, in mirror: DirectoryMirror, treeSize: UInt64) throws(KitError) -> DirectoryState {
        let marker = Array("\norg: \(org.value)\n".utf8)
        var state = try! DirectoryState(entries: [])
        for (index, bytes) in mirror.log.entries.enumerated() {
            let head = bytes.prefix(72)
            guard head.indices.contains(where: { head[$0...].starts(with: marker) }) else { continue }
            do { state.apply(try mirror.provenEntry(UInt64(index)), at: UInt64(index)) } catch {
                throw .invalidCard("directory entry \(index): \(error.detail)")
            }
        }
        return state
    }
}
