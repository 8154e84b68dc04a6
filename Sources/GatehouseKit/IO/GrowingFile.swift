import Dispatch
import Synchronization

/// A bundle file that is still being written, shared between the sealer (the producer) and an
/// upload that sends its bytes while they are produced (the consumer): seal while uploading.
///
/// The local file itself is the buffer between the two: the producer never waits for the
/// network, and the consumer reads each range from the file (the page cache) just before it
/// sends it, so memory stays at the upload's window whatever the bundle's size. The file is
/// written anyway (it is the sender's evidence, and what a retry sends).
///
/// The producer also decides whether the upload may be published: only after the bundle is
/// complete, synced and journalled (``release(publish:)``). Until then the upload stays under
/// its temporary name, which no mailbox listing returns.
public final class GrowingFile: Sendable {
    /// What the consumer sees.
    public struct Progress: Sendable, Equatable {
        /// Where the bytes are read: the temporary path while writing, and the final path that
        /// it is renamed to (read that one if the temporary name is already gone).
        public var paths: (temporary: String, final: String)?
        /// Bytes written to the file so far (readable from it).
        public var written: UInt64 = 0
        /// The complete length, once the producer has finished writing.
        public var length: UInt64?
        /// Why the producer gave up (nothing must be published).
        public var failure: String?
        /// The producer's verdict on publishing: nil until it has decided.
        public var publish: Bool?

        /// A progress report (a complete file is `written == length`, `publish == true`).
        public init(paths: (temporary: String, final: String)? = nil, written: UInt64 = 0, length: UInt64? = nil,
                    failure: String? = nil, publish: Bool? = nil) {
            self.paths = paths
            self.written = written
            self.length = length
            self.failure = failure
            self.publish = publish
        }

        public static func == (a: Progress, b: Progress) -> Bool {
            a.paths?.temporary == b.paths?.temporary && a.paths?.final == b.paths?.final && a.written == b.written
                && a.length == b.length && a.failure == b.failure && a.publish == b.publish
        }
    }

    private struct State {
        var progress = Progress()
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        /// Threads blocked in ``waitBlocking(after:)``.
        var sleepers: [DispatchSemaphore] = []
    }

    private let state = Mutex(State())

    /// A file not begun yet.
    public init() {}

    // MARK: Producer

    /// The file is created at `temporary` and will be renamed to `final` when complete.
    public func begin(temporary: String, final: String) { change { $0.paths = (temporary, final) } }

    /// `count` bytes in all have been written to the file.
    public func advance(to count: UInt64) { change { $0.written = max($0.written, count) } }

    /// The file is complete: `length` bytes.
    public func finish(length: UInt64) {
        change {
            $0.written = length
            $0.length = length
        }
    }

    /// Writing failed or was abandoned; the upload must not be published.
    public func fail(_ reason: String) {
        change {
            if $0.failure == nil { $0.failure = reason }
            $0.publish = false
        }
    }

    /// Lets the upload publish its copy (`true`: the bundle is complete, synced and journalled)
    /// or tells it to throw it away (`false`). Deciding twice keeps the first verdict.
    public func release(publish: Bool) {
        change {
            guard $0.publish == nil else { return }
            $0.publish = publish
            if !publish && $0.failure == nil { $0.failure = "the bundle was not sealed" }
        }
    }

    // MARK: Consumer

    /// The progress now.
    public var progress: Progress { state.withLock { $0.progress } }

    /// Waits until the progress differs from `seen` (or the task is cancelled) and returns it.
    public func next(after seen: Progress) async -> Progress {
        while true {
            let id: UInt64? = state.withLock { s in
                guard s.progress == seen else { return nil }
                s.nextWaiter += 1
                return s.nextWaiter
            }
            guard let id, !Task.isCancelled else { return progress }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { s -> Bool in
                        // Changed (or cancelled) since the check above: do not wait at all.
                        if s.progress != seen || Task.isCancelled { return true }
                        s.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            }
        }
    }

    /// Blocks the calling thread until the progress differs from `seen` (for a reader on a
    /// thread of its own, never on the concurrency pool).
    public func waitBlocking(after seen: Progress) {
        let wake = DispatchSemaphore(value: 0)
        let changed = state.withLock { s -> Bool in
            if s.progress != seen { return true }
            s.sleepers.append(wake)
            return false
        }
        if !changed { wake.wait() }
    }

    private func change(_ body: (inout Progress) -> Void) {
        let (waiters, sleepers) = state.withLock { s -> ([CheckedContinuation<Void, Never>], [DispatchSemaphore]) in
            body(&s.progress)
            defer {
                s.waiters.removeAll()
                s.sleepers.removeAll()
            }
            return (Array(s.waiters.values), s.sleepers)
        }
        for waiter in waiters { waiter.resume() }
        for sleeper in sleepers { sleeper.signal() }
    }
}
