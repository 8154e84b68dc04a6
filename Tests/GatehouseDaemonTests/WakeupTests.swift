import GatehouseDaemon
import Testing

/// The waits are long (10 min) and the checks loose (1 min): a broken wakeup shows as a wait that
/// runs to the suite's time limit, while a busy machine cannot make a working one fail.
@Suite("Wakeup", .timeLimit(.minutes(2)))
struct WakeupTests {
    @Test func aRaiseWakesTheWaiterAndIsConsumed() async throws {
        let wakeup = Wakeup()
        wakeup.raise()
        // Raised before the wait: the wait returns at once, long before its timeout.
        let start = ContinuousClock.now
        await wakeup.wait(upTo: .seconds(600))
        #expect(ContinuousClock.now - start < .seconds(60))
        // Consumed: the next wait runs to its (short) timeout.
        let again = ContinuousClock.now
        await wakeup.wait(upTo: .milliseconds(200))
        #expect(ContinuousClock.now - again >= .milliseconds(200))
    }

    @Test func aRaiseDuringTheWaitEndsIt() async throws {
        let wakeup = Wakeup()
        let waiter = Task { () -> Duration in
            let start = ContinuousClock.now
            await wakeup.wait(upTo: .seconds(600))
            return ContinuousClock.now - start
        }
        try await Task.sleep(for: .milliseconds(100))
        wakeup.raise()
        #expect(await waiter.value < .seconds(60))
    }

    @Test func cancellingTheWaiterEndsTheWait() async throws {
        let wakeup = Wakeup()
        let waiter = Task { await wakeup.wait(upTo: .seconds(600)) }
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        waiter.cancel()
        await waiter.value
        #expect(ContinuousClock.now - start < .seconds(60))
    }
}
