import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

@Suite("/healthz checks")
struct HealthCheckTests {
    func check(expiry: Duration = .seconds(3600)) throws -> (HealthCheck, SpoolLayout, ManualClock, TemporaryDirectory) {
        let folder = try TemporaryDirectory()
        let spool = SpoolLayout(home: GatehouseHome(path: folder.path))
        try spool.create()
        let clock = ManualClock()
        return (HealthCheck(spool: spool, journal: try SQLiteJournal(path: spool.journal), expiry: expiry, clock: clock), spool, clock, folder)
    }

    @Test func healthyWhenEverythingIsWritable() throws {
        let (health, _, _, folder) = try check()
        #expect(health.problems().filter { !$0.hasPrefix("partner ") } == [])
        withExtendedLifetime(folder) {}
    }

    @Test func aSpoolFolderThatIsAFileIsReported() throws {
        let (health, spool, _, folder) = try check()
        defer { withExtendedLifetime(folder) {} }
        try FileManager.default.removeItem(atPath: spool.quarantine)
        #expect(FileManager.default.createFile(atPath: spool.quarantine, contents: Data()))
        #expect(health.problems().contains("the spool folder \(spool.quarantine) is not writable: Not a directory"))
    }

    @Test func aPartnerUnreachableLongerThanTheExpiryIsReported() throws {
        let (health, _, clock, _) = try check(expiry: .seconds(3600))
        // A name no other test delivers to: the reachability record is per process.
        let partner = try ODSCode("ZZ9HEALTH")
        DaemonMetrics.deliveryFailed(to: partner, now: clock.now())
        clock.advance(by: 1_800_000)
        DaemonMetrics.deliveryFailed(to: partner, now: clock.now())
        #expect(!health.problems().contains { $0.hasPrefix("partner \(partner) ") }, "half the expiry: still healthy")
        clock.advance(by: 1_800_001)
        let problem = health.problems().first { $0.hasPrefix("partner \(partner) ") }
        #expect(problem == "partner \(partner) has been unreachable for 3600 s, longer than the delivery expiry (3600 s): every delivery since then failed")
        DaemonMetrics.delivered(to: partner)
        #expect(!health.problems().contains { $0.hasPrefix("partner \(partner) ") })
    }

    /// A relay outage (here: the mailbox server's folder replaced by a file, so listing and
    /// delivering fail) degrades health once the own mailbox has not been listed for longer than
    /// `unreachable_after`, and while a partner's breaker is open; both clear when the relay returns.
    @Test func aRelayOutageDegradesHealthUntilMailFlowsAgain() async throws {
        var settings = DaemonSettings()
        settings.unreachableAfter = .seconds(120)
        settings.breakerFailures = 1
        settings.breakerCooldown = .seconds(60)
        let g = try TwoGateways(settings: settings)
        #expect(await g.practice.deliveryProblems() == [])
        try FileManager.default.removeItem(atPath: g.mailboxRoot)
        #expect(FileManager.default.createFile(atPath: g.mailboxRoot, contents: Data([1])))

        #expect(await g.practice.collect() == 0)
        g.clock.advance(by: 120_000)
        #expect(await g.practice.collect() == 0)
        #expect(await g.practice.deliveryProblems() == [], "exactly unreachable_after: not yet degraded")
        g.clock.advance(by: 1)
        let listing = try #require(await g.practice.deliveryProblems().first)
        #expect(listing.hasPrefix("the own mailbox (A81001) has not been listed for 120 s, longer than [collector] "
                                  + "unreachable_after (120 s): nothing is collected; last failure: listing mailbox"), "\(listing)")
        #expect(listing.contains("Not a directory"), "\(listing)")

        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .sealed)
        #expect(await g.practice.deliveryProblems() == [listing, "partner YOI123: circuit breaker open after 1 consecutive "
                                                        + "failed deliveries; deliveries paused (the next trial in 60 s)"])
        // The gauge and /healthz read the same list, after the local checks.
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        let health = HealthCheck(spool: SpoolLayout(home: g.practiceHome), journal: journal, expiry: .seconds(86_400),
                                 clock: g.clock)
        let delivery = await g.practice.deliveryProblems()
        #expect(await health.problems(including: g.practice).suffix(2) == ArraySlice(delivery))

        // The relay is back: one listing clears the first reason, one delivery the second.
        try FileManager.default.removeItem(atPath: g.mailboxRoot)
        try FileManager.default.createDirectory(atPath: g.mailboxRoot, withIntermediateDirectories: true)
        _ = await g.practice.collect()
        #expect(await g.practice.deliveryProblems().count == 1)
        g.clock.advance(by: 60_000)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(await g.practice.deliveryProblems() == [])
    }
}
