public import GatehouseCrypto
import Synchronization

/// Appends to an audit log without waiting for the disk, and syncs it a moment later: the
/// lines of one record's steps (sealed, delivered, receipt verified), or of a burst of records,
/// cost one sync between them instead of one each, and none of them waits on a record's way.
///
/// Why this keeps what the log is for: each line is written at once, so a killed process loses
/// none; every event a line reports has already been committed to the journal (whose
/// transitions say the same, durably); and a checkpoint is synced with every line before it
/// before its anchor file names it. A power cut can lose at most the lines of the last `delay`,
/// which then read as a log that ends earlier, never as a broken chain.
public final class AuditSyncer: Sendable {
    /// The log appended to.
    public let log: AuditLog
    /// The longest a line waits for its sync.
    public let delay: Duration
    private let onFailure: @Sendable (KitError) -> Void
    private let scheduled = Mutex(false)

    /// A syncer for `log`; `onFailure` hears of a sync that failed (the lines stay written).
    public init(log: AuditLog, delay: Duration = .milliseconds(100), onFailure: @escaping @Sendable (KitError) -> Void) {
        self.log = log
        self.delay = delay
        self.onFailure = onFailure
    }

    /// Appends `event` (with a checkpoint when one is due, synced at once) and schedules a sync.
    public func append(_ event: AuditEvent, signer: (() throws(KitError) -> SigningSecretKey)? = nil) throws(KitError) {
        try log.append(event, signer: signer, sync: false)
        schedule()
    }

    /// Syncs within ``delay``, unless a sync is already scheduled.
    public func schedule() {
        let first = scheduled.withLock { scheduled in
            defer { scheduled = true }
            return !scheduled
        }
        guard first else { return }
        Task.detached { [self] in
            try? await Task.sleep(for: delay)
            syncNow()
        }
    }

    /// Syncs everything appended so far.
    public func syncNow() {
        // Cleared first: a line appended while this sync runs schedules one of its own.
        scheduled.withLock { $0 = false }
        do { try log.sync() } catch { onFailure(error) }
    }
}
