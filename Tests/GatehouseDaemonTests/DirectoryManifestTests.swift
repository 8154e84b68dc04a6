import Foundation
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

/// A partner known only through the directory (DIRECTORY.md §6.1, §7.3, FORMAT.md §5.3): its key
/// manifests rotate as a pinned partner's do, chained from the root its listing names, and a
/// revocation in the directory refuses its bundles and manifests from then on.
@Suite("directory: key manifests of directory partners")
struct DirectoryManifestTests {
    /// Drops `name` into the practice's outbox for YOI123; its bundle id once claimed.
    func claimed(_ g: TwoGateways, _ name: String) async throws -> BundleID {
        guard case .claimed(let id) = try await g.drop(name, Array("<\(name)/>".utf8)) else {
            throw CancellationError()
        }
        return id
    }

    /// The `reason.txt` of the prison's quarantined item `item`.
    func reason(_ g: TwoGateways, _ item: String) -> String {
        (try? String(contentsOfFile: g.prisonHome.path + "/spool/quarantine/\(item)/reason.txt", encoding: .utf8)) ?? ""
    }

    @Test func aRotationChainedFromTheListedRootIsAcceptedAndARevocationRefuses() async throws {
        let g = try TwoGateways()
        // The engines' clock at the real time: the directory's listings are dated with it.
        g.clock.advance(by: Int64(Date().timeIntervalSince1970 * 1000) - g.clock.now() + 1000)
        for (home, org) in [(g.practiceHome, "YOI123"), (g.prisonHome, "A81001")] {
            try FileManager.default.removeItem(atPath: home.path + "/partners/\(org).card")
        }
        let network = try SplitDirectory(g)
        let practice = try KeyStore(home: g.practiceHome).loadOwnCard()
        let prison = try KeyStore(home: g.prisonHome).loadOwnCard()
        let log = try network.served([practice, prison], in: g.folder.appending("published"))
        for home in [g.practiceHome, g.prisonHome] { _ = try DirectoryClient(home: home).sync(from: log) }
        let org = practice.org
        let mailbox = g.mailboxRoot + "/YOI123"

        // The first bundle to a directory partner takes the own manifest with it.
        let first = try await claimed(g, "a.xml")
        _ = await g.practice.processOutgoing()
        #expect(Set(g.list(mailbox)) == ["\(first).ghb", "A81001.1.ghk"])
        _ = await g.prison.collect()
        _ = await g.practice.collect()
        #expect(try g.state(first) == .acknowledged)
        #expect(ManifestLedger(home: g.practiceHome).delivery(to: prison.org).confirmed == 1)

        // A rotation reaches the prison by itself and is accepted: chained from the listed root,
        // kept beside the directory, never pinned.
        let rotated = try KeyStore(home: g.practiceHome).rotate(grace: 3600, now: UInt64(g.clock.now() / 1000)).card
        g.clock.advance(by: 2000)
        await g.practice.maintainKeys()
        #expect(g.list(mailbox) == ["A81001.2.ghk"])
        _ = await g.prison.collect()
        let known = try #require(try PartnerStore(home: g.prisonHome).knownCard(for: org))
        #expect(known.card == rotated && known.source == .directory(index: 0))
        #expect(!FileManager.default.fileExists(atPath: g.prisonHome.path + "/partners/A81001.card"))
        _ = await g.practice.collect()
        #expect(ManifestLedger(home: g.practiceHome).delivery(to: prison.org).confirmed == 2)
        let second = try await claimed(g, "b.xml")
        _ = await g.practice.processOutgoing()
        _ = await g.prison.collect()
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001/\(second)").contains("b.xml"))

        // A card for A81001 under another root (an impostor's, or one the listed root never
        // endorsed) is refused, whatever its version; an older one of the listed root too.
        let impostor = try KeyStore(home: GatehouseHome(path: g.folder.appending("impostor")))
            .initialise(org: org, name: practice.name)
        for (card, version) in [(impostor, 3), (practice, 1)] {
            try Data(card.text.utf8).write(to: URL(fileURLWithPath: mailbox + "/A81001.\(version).ghk"))
        }
        _ = await g.prison.collect()
        #expect(g.list(mailbox).isEmpty)
        #expect(try PartnerStore(home: g.prisonHome).knownCard(for: org)?.card == rotated)
        let refused = g.list(g.prisonHome.path + "/spool/quarantine").filter { $0.hasPrefix("manifest-") }
        let reasons = refused.map { reason(g, $0) }
        #expect(reasons.contains { $0.contains("(different-root)") } && reasons.contains { $0.contains("(not-newer)") },
                "\(reasons)")

        // The authority revokes A81001: from the checkpoint carrying the revocation on, its bundles
        // are refused at once (not held for a card), and so are its manifests.
        let revoked = try network.served([practice, prison], revoking: [practice], in: g.folder.appending("revoked"))
        #expect(try DirectoryClient(home: g.prisonHome).sync(from: revoked) == .updated(2..<3))
        #expect(try PartnerStore(home: g.prisonHome).knownCard(for: org) == nil)
        let third = try await claimed(g, "c.xml")
        _ = await g.practice.processOutgoing()
        _ = await g.prison.collect()
        #expect(g.list(g.prisonHome.path + "/spool/held").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: g.prisonHome.path + "/spool/received/A81001/\(third)"))
        let refusal = try SQLiteJournal(path: g.prisonHome.path + "/journal.sqlite").incoming(third)
        #expect(refusal?.state == .rejected && refusal?.reason?.hasPrefix("unknown-sender") == true,
                "\(String(describing: refusal))")
        // Its sender is not proven and not listed: no receipt goes out (FORMAT.md §4.1).
        #expect(!g.list(g.mailboxRoot + "/A81001").contains { $0.hasPrefix(third.hex) })
        try Data(rotated.text.utf8).write(to: URL(fileURLWithPath: mailbox + "/A81001.2.ghk"))
        _ = await g.prison.collect()
        #expect(try PartnerStore(home: g.prisonHome).knownCard(for: org) == nil)
        let unknown = g.list(g.prisonHome.path + "/spool/quarantine").filter { $0.hasPrefix("manifest-") }
            .map { reason(g, $0) }
        #expect(unknown.contains { $0.contains("(unknown-partner)") }, "\(unknown)")
    }
}
