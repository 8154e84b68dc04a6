import Foundation
import GatehouseKit
import Synchronization

/// One writer for the web server's audit events, committing them in groups: the events that
/// arrive while a group is being written and synced go into the next group, written under one
/// lock and synced once (``AuditLog/append(_:signer:now:)``). Each caller learns whether its own
/// event is durable before it shows anything, as before; fifty page views in flight cost one
/// `fsync` instead of fifty (5 to 50 ms each on a busy disk, taken one after another).
final class AuditGroupCommit: Sendable {
    private struct Waiting {
        var events: [AuditEvent] = []
        var done: [@Sendable (Bool) -> Void] = []
        var writing = false
    }

    private let log: AuditLog
    private let home: GatehouseHome
    private let waiting = Mutex(Waiting())

    init(log: AuditLog, home: GatehouseHome) {
        self.log = log
        self.home = home
    }

    /// Queues `event`; `done` is called with true once it is synced, false if it could not be.
    func append(_ event: AuditEvent, done: @escaping @Sendable (Bool) -> Void) {
        let starts = waiting.withLock { w in
            w.events.append(event)
            w.done.append(done)
            defer { w.writing = true }
            return !w.writing
        }
        // The writing (a blocking flock, write and fsync) happens on a thread of its own, never
        // on the tasks serving requests; it ends when nothing is left to write.
        if starts { Thread.detachNewThread { self.drain() } }
    }

    /// Appends `event` and waits for it, blocking this thread (for callers that are not async).
    func appendAndWait(_ event: AuditEvent) -> Bool {
        let synced = DispatchSemaphore(value: 0)
        let answer = Answer()
        append(event) { ok in
            answer.ok = ok
            synced.signal()
        }
        synced.wait()
        return answer.ok
    }

    /// Written before the semaphore is signalled and read after it is waited for.
    private final class Answer: @unchecked Sendable {
        var ok = false
    }

    /// Appends `event` and suspends until it is synced.
    func append(_ event: AuditEvent) async -> Bool {
        await withCheckedContinuation { continuation in
            append(event) { continuation.resume(returning: $0) }
        }
    }

    private func drain() {
        let keys = KeyStore(home: home)
        while true {
            let group = waiting.withLock { w in
                defer { w.events = []; w.done = [] }
                if w.events.isEmpty { w.writing = false }
                return (w.events, w.done)
            }
            guard !group.0.isEmpty else { return }
            let ok = (try? log.append(group.0, signer: { () throws(KitError) in try keys.loadSigningKey() })) != nil
            for done in group.1 { done(ok) }
        }
    }
}
