import Foundation
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import GatehouseNotify
import GatehouseTesting
import Testing

/// A fork shown to two gateways is caught through the bundle itself (DIRECTORY.md §7.2, FORMAT.md
/// §3.1): the practice's header carries the checkpoint it trusts, and the prison, shown another log
/// by the same authority, finds the contradiction when it opens the bundle, before any receipt.
@Suite("directory: equivocation caught through a bundle header")
struct DirectoryBundleTests {
    @Test func aSplitViewIsCaughtByTheRecipientOfOneBundle() async throws {
        let g = try TwoGateways(notify: NotifyEmissionTests.settings())
        try SplitDirectory(g).split(g)
        guard case .claimed(let id) = try await g.drop("summary.xml", Array("<summary/>".utf8)) else {
            Issue.record("not claimed"); return
        }
        _ = await g.practice.processOutgoing()
        let bundle = try #require(g.read(g.mailboxRoot + "/YOI123/\(id).ghb"))
        let header = try #require(try BundleHeader.parse(bundle[...])).header
        #expect(header.directoryCheckpoint == (try DirectoryClient(home: g.practiceHome).log.readCheckpoint()))
        #expect(await g.prison.collect() == 1)

        // The record is published all the same: the proof is about the authority, not the sender.
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001/\(id)").contains("summary.xml"))
        let evidence = g.list(g.prisonHome.path + "/directory/evidence")
        #expect(evidence.contains { $0.hasSuffix("-fork.checkpoint") }
                    && evidence.contains { $0.hasSuffix("-trusted.checkpoint") }, "\(evidence)")
        let fork = try #require(evidence.first { $0.hasSuffix("-fork.checkpoint") })
        #expect(g.read(g.prisonHome.path + "/directory/evidence/" + fork) == header.directoryCheckpoint)
        let alarms = try NotifyQueue(folder: g.prisonHome.path + "/spool/notify", limit: 100).all().map(\.event)
            .filter { $0.event == "directory.alarm" }
        #expect(alarms.count == 1 && alarms.first?.reason?.hasPrefix(
            "equivocation: directory equivocation: A81001's bundle header carries a checkpoint") == true, "\(alarms)")
        let audit = try String(contentsOfFile: g.prisonHome.path + "/audit/audit.jsonl", encoding: .utf8)
        #expect(audit.contains("directory-equivocation"))

        // doctor's and /healthz's source: the prison's watch reports the fork; nothing new is trusted.
        let prisonCard = try KeyStore(home: g.prisonHome).loadOwnCard()
        let watch = try #require(try DirectoryClient(home: g.prisonHome).watch(own: prisonCard))
        #expect(watch.evidence.contains { $0.hasSuffix("-fork.checkpoint") })
        let client = DirectoryClient(home: g.prisonHome)
        guard case .refused(.halted, _) = try client.sync(from: TileFolder(path: g.folder.appending("honest"))) else {
            Issue.record("a gateway holding proof of a fork went on trusting the authority"); return
        }
    }

    @Test func aCheckpointNotSignedByTheNetworkProvesNothing() async throws {
        // An insider at the practice carries a checkpoint of its own making, under the network's
        // name: it parses, is signed with the bundle, and is refused as evidence: no alarm.
        let g = try TwoGateways(notify: NotifyEmissionTests.settings())
        let network = try SplitDirectory(g)
        let practice = try KeyStore(home: g.practiceHome).loadOwnCard()
        let prison = try KeyStore(home: g.prisonHome).loadOwnCard()
        let honest = try network.served([practice, prison], in: g.folder.appending("honest"))
        _ = try DirectoryClient(home: g.prisonHome).sync(from: honest)
        let forged = try network.served([prison, practice], in: g.folder.appending("forged"), forged: true)
        // The practice's saved copy is replaced by the forgery (it cannot sync it: not the network's).
        try FileManager.default.createDirectory(atPath: g.practiceHome.path + "/directory/log",
                                                withIntermediateDirectories: true)
        try DirectoryClient(home: g.practiceHome).log.writeCheckpoint(try #require(try forged.readCheckpoint()))

        guard case .claimed(let id) = try await g.drop("summary.xml", Array("<summary/>".utf8)) else {
            Issue.record("not claimed"); return
        }
        _ = await g.practice.processOutgoing()
        let bundle = try #require(g.read(g.mailboxRoot + "/YOI123/\(id).ghb"))
        #expect(try BundleHeader.parse(bundle[...])?.header.directoryCheckpoint == (try forged.readCheckpoint()))
        #expect(await g.prison.collect() == 1)
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001/\(id)").contains("summary.xml"))
        #expect(g.list(g.prisonHome.path + "/directory/evidence").isEmpty)
        #expect(g.list(g.prisonHome.path + "/directory/seen").isEmpty)
        let alarms = try NotifyQueue(folder: g.prisonHome.path + "/spool/notify", limit: 100).all().map(\.event)
            .filter { $0.event == "directory.alarm" }
        #expect(alarms.isEmpty)
        #expect(try DirectoryClient(home: g.prisonHome).sync(from: honest) == .updated(2..<2))
    }
}
