import GatehouseDaemon
import Testing

/// A deterministic generator for jitter tests.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
}

@Suite("Retry policy and circuit breaker (no sleeping)")
struct RetryPolicyTests {
    @Test func ceilingDoublesUpToTheMaximum() {
        let policy = RetryPolicy(initial: .seconds(1), maximum: .seconds(60))
        #expect((1...8).map { policy.ceilingMilliseconds(afterFailures: $0) } == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000])
        #expect(policy.ceilingMilliseconds(afterFailures: 1_000) == 60_000)
    }

    @Test func fullJitterStaysWithinTheCeilingAndSpreads() {
        let policy = RetryPolicy(initial: .milliseconds(500), maximum: .seconds(30))
        var random = SeededGenerator(state: 42)
        let delays = (0..<1000).map { _ in policy.delayMilliseconds(afterFailures: 4, using: &random) }
        #expect(delays.allSatisfy { (0...4_000).contains($0) })
        #expect(Set(delays).count > 500, "full jitter should spread retries")
        #expect(delays.min()! < 400 && delays.max()! > 3_600)
    }

    @Test func breakerOpensAfterThresholdAndHalfOpensAfterCooldown() {
        var breaker = CircuitBreaker(threshold: 3, cooldownMilliseconds: 10_000)
        do { let allowed = breaker.allowsAttempt(now: 0); #expect(allowed) }
        breaker.recordFailure(now: 0)
        breaker.recordFailure(now: 1)
        #expect(breaker.label == "closed")
        breaker.recordFailure(now: 2)
        #expect(breaker.label == "open")
        do { let allowed = breaker.allowsAttempt(now: 5_000); #expect(!allowed) }
        do { let allowed = breaker.allowsAttempt(now: 10_002); #expect(allowed) }
        #expect(breaker.label == "half-open")
        do { let allowed = breaker.allowsAttempt(now: 10_003); #expect(!allowed, "only one trial while half-open") }
        breaker.recordFailure(now: 10_004)
        #expect(breaker.label == "open")
        do { let allowed = breaker.allowsAttempt(now: 20_004); #expect(allowed) }
        breaker.recordSuccess()
        #expect(breaker.label == "closed")
        do { let allowed = breaker.allowsAttempt(now: 20_005); #expect(allowed) }
    }
}
