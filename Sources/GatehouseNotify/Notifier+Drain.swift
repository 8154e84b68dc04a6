import Foundation
import GatehouseKit

extension Notifier {
    /// Sends every notice that is due, each target on its own (a hanging webhook never delays
    /// the command); returns when the next one is due (ms), if any waits. Notices past
    /// `max_age` are dropped first.
    public func drain() async -> Int64? {
        guard let queue else { return nil }
        var live: [QueuedNotice] = []
        for notice in lock.withLock({ _ in queue.all() }) {
            if clock() - notice.queuedAt > settings.maxAge.milliseconds {
                lock.withLock { _ in queue.remove(notice) }
                drop(notice, because: "not sent within max_age \(GatehouseConfig.describe(settings.maxAge))")
            } else {
                live.append(notice)
            }
        }
        return await withTaskGroup(of: Int64?.self) { group in
            for target in ["command", "webhook"] {
                let notices = live.filter { $0.target == target }
                if !notices.isEmpty { group.addTask { await self.drain(notices, queue: queue) } }
            }
            var next: Int64?
            for await due in group { if let due { next = min(next ?? due, due) } }
            return next
        }
    }

    /// Sends `notices` (one target's, oldest first) while they succeed. The first failure ends
    /// the pass: a receiver that is down or hangs costs one attempt per retry interval, not one
    /// timeout per waiting event; the others follow, in order, once it answers again.
    private func drain(_ notices: [QueuedNotice], queue: NotifyQueue) async -> Int64? {
        var next: Int64?
        for notice in notices {
            guard notice.nextAttemptAt <= clock() else {
                next = min(next ?? notice.nextAttemptAt, notice.nextAttemptAt)
                continue
            }
            let outcome = await send(notice.event, to: notice.target)
            // Stopping: the notice stays queued as it was, for the next start.
            if Task.isCancelled { return next }
            var updated = notice
            updated.attempts += 1
            let label = "\(notice.target) \(notice.event.event) \(notice.event.id)"
            switch outcome {
            case .success(let answer):
                lock.withLock { _ in queue.remove(notice) }
                logger.info("notification sent: \(label)\(answer.isEmpty ? "" : " (\(answer))")")
                audit(auditEvent("notify-sent", notice, detail: label))
            case .failure(let error):
                // 1 s, 2 s, 4 s … up to 5 minutes between attempts.
                let delay = min(Int64(1000) << Int64(min(updated.attempts - 1, 9)), 300_000)
                updated.nextAttemptAt = clock() + delay
                let kept = lock.withLock { _ in
                    // Dropped meanwhile (the queue was full): not written back.
                    guard FileManager.default.fileExists(atPath: "\(queue.folder)/\(notice.fileName)") else {
                        return false
                    }
                    return (try? queue.save(updated)) != nil
                }
                let retry = kept ? "; retrying in \(delay / 1000) s" : ""
                logger.warning("notification failed: \(label): \(error.message)\(retry)")
                if updated.attempts == 1 {
                    audit(auditEvent("notify-failed", notice, detail: "\(label): \(error.category.rawValue)"))
                }
                return kept ? min(next ?? updated.nextAttemptAt, updated.nextAttemptAt) : clock() + 1000
            }
        }
        return next
    }

    func send(_ event: NotifyEvent, to target: String) async -> Result<String, NotifyError> {
        let body = event.encoded()
        let command = settings.command, webhook = settings.webhook
        return await BlockingWork.run(cancelled: .failure(NotifyError(.timeout, "stopped"))) {
            do throws(NotifyError) {
                if target == "command", let command { return .success(try CommandTarget(command).send(body)) }
                if target == "webhook", let webhook {
                    return .success(try WebhookTarget(webhook).send(body, event: event.event, id: event.id))
                }
                return .failure(NotifyError(.invalidTarget, "no \(target) is configured"))
            } catch {
                return .failure(error)
            }
        }
    }

    func drop(_ notice: QueuedNotice, because reason: String) {
        let label = "\(notice.target) \(notice.event.event) \(notice.event.id)"
        logger.error("notification dropped: \(label): \(reason)")
        audit(auditEvent("notify-dropped", notice, detail: "\(label): \(reason)"))
    }

    func auditEvent(_ name: String, _ notice: QueuedNotice, detail: String) -> AuditEvent {
        AuditEvent(name, org: notice.event.partner?.ods, bundle: notice.event.bundle, detail: detail)
    }
}
