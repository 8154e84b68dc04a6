/// Exponential backoff with full jitter: after the n-th failed attempt the next one waits a
/// uniformly random time in `0 ... min(maximum, initial × 2^(n-1))`. Full jitter spreads the
/// retries of many gateways that failed together (a relay outage) instead of synchronising them.
public struct RetryPolicy: Sendable, Equatable {
    /// The ceiling of the first wait.
    public var initial: Duration
    /// The largest wait.
    public var maximum: Duration

    /// A policy.
    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(300)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The upper bound of the wait after `failures` consecutive failed attempts (1 or more), in ms.
    public func ceilingMilliseconds(afterFailures failures: Int) -> Int64 {
        let cap = Self.milliseconds(maximum)
        var ceiling = Self.milliseconds(initial)
        var n = 1
        while n < failures && ceiling < cap {
            ceiling *= 2
            n += 1
        }
        return min(ceiling, cap)
    }

    /// A wait drawn with full jitter, in milliseconds.
    public func delayMilliseconds(afterFailures failures: Int, using random: inout some RandomNumberGenerator) -> Int64 {
        let ceiling = ceilingMilliseconds(afterFailures: failures)
        return ceiling <= 0 ? 0 : Int64.random(in: 0...ceiling, using: &random)
    }

    /// Whole milliseconds in `duration`.
    public static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

/// A per-partner circuit breaker, as a value: after `threshold` consecutive failures it opens
/// and refuses attempts for `cooldown`; then it lets one trial through (half-open), closing on
/// success and re-opening on failure. One partner's outage then costs one attempt per cooldown,
/// not one per queued bundle.
public struct CircuitBreaker: Sendable, Equatable {
    /// The breaker's state.
    public enum State: Sendable, Equatable {
        /// Attempts flow; `failures` consecutive ones have failed.
        case closed(failures: Int)
        /// No attempts until the given time (ms since the epoch).
        case open(until: Int64)
        /// One trial attempt is in flight.
        case halfOpen
    }

    /// Consecutive failures that open the breaker.
    public let threshold: Int
    /// How long it stays open, in milliseconds.
    public let cooldownMilliseconds: Int64
    /// The current state.
    public private(set) var state: State = .closed(failures: 0)

    /// A closed breaker.
    public init(threshold: Int = 5, cooldownMilliseconds: Int64 = 60_000) {
        self.threshold = max(1, threshold)
        self.cooldownMilliseconds = cooldownMilliseconds
    }

    /// Whether an attempt may start at `now`; moves an expired open breaker to half-open.
    public mutating func allowsAttempt(now: Int64) -> Bool {
        switch state {
        case .closed: return true
        case .halfOpen: return false
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen
            return true
        }
    }

    /// An attempt succeeded.
    public mutating func recordSuccess() { state = .closed(failures: 0) }

    /// An attempt failed at `now`.
    public mutating func recordFailure(now: Int64) {
        switch state {
        case .closed(let failures) where failures + 1 < threshold: state = .closed(failures: failures + 1)
        default: state = .open(until: now + cooldownMilliseconds)
        }
    }

    /// A short word for status output: `closed`, `open` or `half-open`.
    public var label: String {
        switch state {
        case .closed: "closed"
        case .open: "open"
        case .halfOpen: "half-open"
        }
    }
}
