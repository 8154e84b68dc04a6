import Dispatch

/// A task executor with a thread of its own, for a server a test runs in its own process.
///
/// Swift Testing runs synchronous tests on the concurrency pool, which has one thread per core
/// (two here), and many of them block a thread while a child process runs. A server whose
/// handlers also waited for that pool could go unanswered for as long as those tests run: the
/// witness tests timed out that way under CI's load. Tasks started with this executor preference
/// (and their child tasks) run on a serial dispatch queue, which is given a thread of its own
/// whatever the pool is doing.
public final class ServerThread: TaskExecutor, @unchecked Sendable {
    private let queue: DispatchQueue

    /// An executor whose thread is named `label`.
    public init(label: String) {
        queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Starts `work` as a task that prefers this executor.
    public func start<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) -> Task<T, any Error> {
        Task(executorPreference: self) { try await work() }
    }
}
