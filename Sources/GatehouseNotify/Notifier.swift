import Foundation
import Glibc
public import GatehouseFormat
public import GatehouseKit
public import Logging
import Synchronization

/// The one place events go: filters them per target, queues them durably (``NotifyQueue``) and
/// sends them from ``drain()``, retrying with back-off until `max_age`. Every notice sent, failed
/// (its first failure) or dropped writes one audit line. Emitting never waits on a receiver.
public final class Notifier: Sendable {
    /// The settings in force.
    public let settings: NotifySettings
    let organisation: ODSCode
    let queue: NotifyQueue?
    let audit: @Sendable (AuditEvent) -> Void
    let logger: Logger
    let clock: @Sendable () -> Int64
    let once: OnceLedger?
    /// Serialises changes to the queue's files between emitters and the sender.
    let lock = Mutex<Void>(())
    private let wake = Mutex<(@Sendable () -> Void)?>(nil)

    /// A notifier for `settings`, queueing in `folder`; nothing is queued when no target is set.
    public init(settings: NotifySettings, organisation: ODSCode, folder: String, logger: Logger,
                clock: @escaping @Sendable () -> Int64,
                audit: @escaping @Sendable (AuditEvent) -> Void) throws(KitError) {
        self.settings = settings
        self.organisation = organisation
        self.logger = logger
        self.clock = clock
        self.audit = audit
        if settings.isEnabled {
            queue = try NotifyQueue(folder: folder, limit: settings.queueMax)
            once = OnceLedger(path: folder + "/.once.json")
        } else {
            queue = nil
            once = nil
        }
    }

    /// A notifier that sends nothing.
    public static func disabled(_ organisation: ODSCode) -> Notifier {
        // No target: init never touches the disk, so it cannot fail.
        try! Notifier(settings: NotifySettings(), organisation: organisation, folder: "/nonexistent",
                      logger: Logger(label: "gatehouse.notify"), clock: { 0 }, audit: { _ in })
    }

    /// Called after each new event is queued (the service's wake-up).
    public func onQueued(_ handler: @escaping @Sendable () -> Void) { wake.withLock { $0 = handler } }

    /// A new event of `kind`, now, from this organisation.
    public func event(_ kind: String) -> NotifyEvent { NotifyEvent(kind, organisation: organisation, at: clock()) }

    /// Queues `event` for every target that takes its kind. Patient data is removed unless
    /// `include_patient_data` is set. A queue full for a target drops its oldest notice.
    public func emit(_ event: NotifyEvent) {
        guard let queue else { return }
        var event = event
        if !settings.includePatientData { event.removePatientData() }
        let now = clock()
        let targets = ["command", "webhook"].filter {
            isConfigured($0) && settings.events(for: $0).contains(event.event)
        }
        for target in targets {
            let notice = QueuedNotice(target: target, event: event, queuedAt: now, nextAttemptAt: now)
            do {
                let dropped = try lock.withLock { _ throws(KitError) in try queue.add(notice) }
                for old in dropped { drop(old, because: "the queue is full (queue_max \(settings.queueMax))") }
            } catch {
                logger.error("queueing notification \(event.event) for the \(target) failed: \(error)")
            }
        }
        wake.withLock { $0 }?()
    }

    /// Emits `event` unless an event with `key` was emitted before (remembered across restarts,
    /// for eight days): one `receipt.overdue` per bundle, one `key.expiring` per key and day.
    public func emitOnce(_ event: NotifyEvent, key: String) {
        guard let once, once.claim(key, now: clock()) else { return }
        emit(event)
    }

    /// Sends `event` to every configured target at once, bypassing the queue
    /// (`gatehouse notify test`); returns each target's outcome.
    public func sendNow(_ event: NotifyEvent) async -> [(target: String, outcome: Result<String, NotifyError>)] {
        var results: [(String, Result<String, NotifyError>)] = []
        for target in ["command", "webhook"] where isConfigured(target) {
            results.append((target, await send(event, to: target)))
        }
        return results
    }

    func isConfigured(_ target: String) -> Bool {
        target == "command" ? settings.command != nil : settings.webhook != nil
    }
}
