import Foundation
import Synchronization

/// Runs blocking work (a socket, a child process) on a thread of its own and awaits it: the
/// daemon's few cooperative threads are never held by a slow receiver, and a cancelled wait (the
/// daemon stopping) returns `cancelled` at once while the thread runs out its own timeout.
enum BlockingWork {
    static func run<T: Sendable>(cancelled: T, _ work: @escaping @Sendable () -> T) async -> T {
        let slot = Mutex<CheckedContinuation<T, Never>?>(nil)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
                slot.withLock { $0 = continuation }
                if Task.isCancelled {
                    slot.withLock { $0.take() }?.resume(returning: cancelled)
                    return
                }
                let thread = Thread {
                    let result = work()
                    slot.withLock { $0.take() }?.resume(returning: result)
                }
                thread.name = "gatehouse-notify"
                thread.start()
            }
        } onCancel: {
            slot.withLock { $0.take() }?.resume(returning: cancelled)
        }
    }
}

extension Duration {
    /// Whole milliseconds (`"1500ms"` is 1500, not 1000).
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
