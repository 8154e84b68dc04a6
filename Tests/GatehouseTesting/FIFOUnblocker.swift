import Foundation
import Glibc
import Synchronization

/// Opens a FIFO for writing whenever someone has it open for reading, for a while: code that
/// wrongly blocks opening the FIFO is released, so a test of it fails instead of hanging for
/// ever. (Opening for writing without blocking succeeds only once a reader waits.)
public final class FIFOUnblocker: Sendable {
    private let stopped = Mutex(false)
    private let released = Mutex(0)

    /// Starts releasing readers of `path` for up to `seconds`.
    public init(path: String, seconds: Double = 10) {
        let deadline = Date().addingTimeInterval(seconds)
        let thread = Thread { [self] in
            while !stopped.withLock({ $0 }) && Date() < deadline {
                let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
                if fd >= 0 {
                    close(fd)
                    released.withLock { $0 += 1 }
                }
                usleep(50_000)
            }
        }
        thread.start()
    }

    /// How many times a reader was waiting and was released: 0 when nothing ever blocked on it.
    public var releasedReaders: Int { released.withLock { $0 } }

    /// Stops releasing.
    public func stop() { stopped.withLock { $0 = true } }

    deinit { stop() }
}
