import Foundation
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

/// `/healthz` and the directory (DIRECTORY.md §7.2): proof of a lying authority, or the own ODS
/// code listed with another root key, makes the gateway degraded; a stale checkpoint a warning.
@Suite("/healthz and the directory")
struct DirectoryHealthTests {
    @Test func aLyingDirectoryMakesTheGatewayDegraded() throws {
        let folder = try TemporaryDirectory()
        let home = GatehouseHome(path: folder.appending("practice"))
        let own = try KeyStore(home: home).initialise(org: try ODSCode("A81001"), name: "Riverside Medical Practice")
        let authority = NetworkAuthority(home: GatehouseHome(path: folder.appending("authority")))
        let card = try NetworkAuthority.initialise(home: authority.home, name: "directory.nhs.example/health")
        let served = TileFolder(path: folder.appending("served"))
        let now = KeyStore.now()
        try authority.stage(try DirectoryEntry.admit(own, validFrom: now - 60, validUntil: now + 86_400))
        _ = try authority.publish(key: try authority.loadRootKey(), now: now, mirrors: [served.path])
        let client = DirectoryClient(home: home)
        try client.join(card)
        _ = try client.sync(from: served)

        let spool = SpoolLayout(home: home)
        try spool.create()
        let clock = ManualClock()
        clock.advance(by: Int64(now) * 1000 - clock.now())
        let health = HealthCheck(
            spool: spool, journal: try SQLiteJournal(path: spool.journal), expiry: .seconds(3600), clock: clock, home: home)
        #expect(health.problems().filter { !$0.hasPrefix("partner ") } == [])
        #expect(health.warnings() == [])

        // An hour and a minute later without a new checkpoint: a warning where [directory]
        // stale_after is an hour, still healthy; nothing under the default of two days.
        clock.advance(by: 3660 * 1000)
        let strict = HealthCheck(spool: spool, journal: try SQLiteJournal(path: spool.journal), expiry: .seconds(3600), clock: clock,
                                 home: home, directoryStaleAfter: .seconds(3600))
        #expect(strict.warnings().contains { $0.contains("longer ago than [directory] stale_after") })
        #expect(strict.problems().filter { !$0.hasPrefix("partner ") } == [])
        #expect(health.warnings() == [])

        // Someone else admitted under A81001: degraded.
        let impostor = try KeyStore(home: GatehouseHome(path: folder.appending("impostor")))
            .initialise(org: try ODSCode("A81001"), name: "Riverside Medical Practice")
        try authority.stage(try DirectoryEntry.admit(impostor, validFrom: now - 60, validUntil: now + 86_400))
        _ = try authority.publish(key: try authority.loadRootKey(), now: now, mirrors: [served.path])
        _ = try client.sync(from: served)
        #expect(health.problems().contains { $0.contains("lists A81001 at entry 1 with another root key") })

        // And a checkpoint seen from a partner that contradicts this copy: the proof is named.
        var other = DirectoryLog()
        other.append(try DirectoryEntry.admit(impostor, validFrom: now, validUntil: now + 86_400))
        let split = try other.checkpoint(verifier: card.verifier, key: try authority.loadRootKey(), time: now)
        guard case .equivocation = try client.compare(split.bytes, from: "YOI123") else {
            Issue.record("not caught")
            return
        }
        #expect(health.problems().contains { $0.contains("signed a checkpoint that contradicts the trusted one") })
    }
}
