import GatehouseFormat
import Synchronization

/// The verified copies of the directory this process loaded, one per home, with an index from ODS
/// code to entry indices, so that a running gateway looks a partner up in a directory of 100,000
/// entries with one inclusion proof and one or two entry parses, not a reload. An entry is reused
/// only while the saved checkpoint is byte for byte the one it was loaded with.
final class DirectoryCache: Sendable {
    static let shared = DirectoryCache()

    struct Loaded: Sendable {
        let checkpoint: [UInt8]
        let mirror: DirectoryMirror
        let byOrg: [ODSCode: [Int]]
    }

    private let loaded = Mutex<[String: Loaded]>([:])
    /// Each home's organisations already looked up, with the checkpoint they were looked up under.
    private let states = Mutex<[String: (checkpoint: [UInt8], byOrg: [ODSCode: DirectoryState])]>([:])

    /// The state of `org` in `loaded` (parsed and proven once per checkpoint), from `make`.
    func state(
        _ org: ODSCode, home: String, in loaded: Loaded,
        make: () throws(KitError) -> DirectoryState
    ) throws(KitError) -> DirectoryState {
        if let hit = states.withLock({ $0[home] }), hit.checkpoint == loaded.checkpoint, let state = hit.byOrg[org] {
            return state
        }
        let state = try make()
        states.withLock { cached in
            var entry =
                cached[home].flatMap { $0.checkpoint == loaded.checkpoint ? $0 : nil } ?? (
                    checkpoint: loaded.checkpoint, byOrg: [:]
                )
            entry.byOrg[org] = state
            cached[home] = entry
        }
        return state
    }

    /// The copy saved in `client`'s home, from the cache when its checkpoint has not changed.
    func load(_ client: DirectoryClient) throws(KitError) -> Loaded? {
        guard let card = try client.pinnedCard(), let checkpoint = try client.log.readCheckpoint() else { return nil }
        if let hit = loaded.withLock({ $0[client.home.path] }), hit.checkpoint == checkpoint,
            hit.mirror.verifier == card.verifier
        {
            return hit
        }
        let mirror = try client.log.mirror(verifier: card.verifier, rotatedKeys: try client.rotatedKeys())
        var byOrg: [ODSCode: [Int]] = [:]
        for (index, entry) in mirror.log.entries.enumerated() {
            if let org = Self.org(of: entry) { byOrg[org, default: []].append(index) }
        }
        let fresh = Loaded(checkpoint: checkpoint, mirror: mirror, byOrg: byOrg)
        loaded.withLock { $0[client.home.path] = fresh }
        return fresh
    }

    /// The ODS code on an entry's third line (`org: ODS`), read without parsing the entry; the
    /// entries it selects are parsed and proven before anything is taken from them.
    static func org(of entry: [UInt8]) -> ODSCode? {
        let lines = entry.prefix(80).split(separator: 0x0A, maxSplits: 3, omittingEmptySubsequences: false)
        guard lines.count > 2, lines[2].starts(with: Array("org: ".utf8)) else { return nil }
        return try? ODSCode(String(decoding: lines[2].dropFirst(5), as: UTF8.self))
    }
}
