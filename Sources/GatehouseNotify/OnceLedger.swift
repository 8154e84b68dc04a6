import Foundation
import GatehouseKit
import Synchronization

/// The keys of events already emitted once (`receipt.overdue:<bundle>`, `key.expiring:<key>:<day>`)
/// with when, in one small JSON file beside the queue, so that a restart does not repeat them.
/// Entries older than eight days are forgotten; at most ``limit`` are kept.
final class OnceLedger: Sendable {
    static let limit = 10_000
    static let keep: Int64 = 8 * 86_400_000
    let path: String
    private let seen: Mutex<[String: Int64]?> = Mutex(nil)

    init(path: String) { self.path = path }

    /// True (and remembered) the first time `key` is claimed.
    func claim(_ key: String, now: Int64) -> Bool {
        seen.withLock { seen in
            var entries = seen ?? load()
            entries = entries.filter { now - $0.value < Self.keep }
            guard entries[key] == nil else {
                seen = entries
                return false
            }
            entries[key] = now
            if entries.count > Self.limit {
                let oldest = entries.sorted { $0.value < $1.value }.prefix(entries.count - Self.limit)
                for (old, _) in oldest { entries[old] = nil }
            }
            seen = entries
            if let data = try? JSONEncoder().encode(entries) {
                try? FileOperations.replaceAtomically(at: path, contents: Array(data), mode: 0o600)
            }
            return true
        }
    }

    private func load() -> [String: Int64] {
        guard let bytes = try? FileOperations.read(at: path, limit: 4 << 20) else { return [:] }
        return (try? JSONDecoder().decode([String: Int64].self, from: Data(bytes))) ?? [:]
    }
}
