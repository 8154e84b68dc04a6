import Foundation
import GatehouseDaemon
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
        return (HealthCheck(spool: spool, journal: try Journal(path: spool.journal), expiry: expiry, clock: clock), spool, clock, folder)
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
        let partner = "ZZ9HEALTH"
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
}
