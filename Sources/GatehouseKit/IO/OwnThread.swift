import Foundation

/// Runs blocking work on a thread of its own and awaits it, so that the concurrency pool (one
/// thread per core) is never held while the work waits: opening a bundle that is still
/// downloading waits for the network, and two organisations doing that at once in one service
/// must not stall every download.
public enum OwnThread {
    /// Runs `work` on a new thread named `name` and returns (or throws) what it did.
    public static func run<T: Sendable>(_ name: String, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<T, any Error>) in
            let thread = Thread { done.resume(with: Result { try work() }) }
            thread.name = name
            thread.start()
        }
    }
}
