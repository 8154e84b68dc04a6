import Foundation
import Synchronization

/// A flag one task raises to cut another's wait short ("there is new work"). The waiter
/// resumes the moment the flag is raised: no polling.
public final class Wakeup: Sendable {
    private let state = Mutex<(raised: Bool, waiters: [UUID: CheckedContinuation<Void, Never>])>((false, [:]))

    /// A lowered flag.
    public init() {}

    /// Raises the flag, waking one waiter (or the next one to wait).
    public func raise() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let (id, waiter) = state.waiters.first {
                state.waiters[id] = nil
                return waiter
            }
            state.raised = true
            return nil
        }
        waiter?.resume()
    }

    /// Waits until the flag is raised or `timeout` passes (or the task is cancelled), then
    /// lowers it.
    public func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitRaised() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitRaised() async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now: Bool = state.withLock { state in
                    if state.raised {
                        state.raised = false
                        return true
                    }
                    // Cancelled before we could register: the handler found nothing to resume.
                    if Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
