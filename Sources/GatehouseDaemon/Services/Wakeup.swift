import Synchronization

/// A flag one task raises to cut another's wait short ("there is new work").
public final class Wakeup: Sendable {
    private let raised = Mutex(false)

    /// A lowered flag.
    public init() {}

    /// Raises the flag.
    public func raise() { raised.withLock { $0 = true } }

    /// Waits until the flag is raised or `timeout` passes, then lowers it.
    /// Checks every 20 ms: cheap, and well inside the daemon's latency budget.
    public func wait(upTo timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if raised.withLock({ let was = $0; $0 = false; return was }) { return }
            try? await Task.sleep(for: min(.milliseconds(20), deadline - ContinuousClock.now))
            if Task.isCancelled { return }
        }
    }
}
