import Synchronization

/// The paths made durable (fsync of a file or a folder, a file-system sync) by the task that
/// installs a recorder, in order: tests count a record's syncs step by step, so that a sync
/// cut for speed cannot come back unnoticed, and one that durability needs cannot go.
package final class SyncRecorder: Sendable {
    /// The recorder of the current task, if any.
    @TaskLocal package static var current: SyncRecorder?

    private let paths = Mutex<[String]>([])

    package init() {}

    /// Notes that `path` was synced.
    package func record(_ path: String) { paths.withLock { $0.append(path) } }

    /// Everything synced so far, in order.
    package var synced: [String] { paths.withLock { $0 } }

    /// Notes `path` in the current task's recorder, if one is installed.
    static func note(_ path: String) { current?.record(path) }
}
