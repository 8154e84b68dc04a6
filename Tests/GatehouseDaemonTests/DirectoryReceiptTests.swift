import Foundation
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import GatehouseNotify
import GatehouseTesting
import Testing

/// A fork shown to two gateways is caught through one receipt (DIRECTORY.md §7.2, FORMAT.md §4.1):
/// the prison's receipt carries the checkpoint it trusts, and the practice, shown another log by
/// the same authority, finds the contradiction at once.
@Suite("directory: equivocation caught through a receipt")
struct DirectoryReceiptTests {
    @Test func aSplitViewIsCaughtWithinOneExchange() async throws {
        let g = try TwoGateways(notify: NotifyEmissionTests.settings())
        let authority = NetworkAuthority(home: GatehouseHome(path: g.folder.appending("authority")))
        let card = try NetworkAuthority.initialise(home: authority.home, name: "directory.nhs.example/split")
        let key = try authority.loadRootKey()
        let now = KeyStore.now()
        let practiceCard = try KeyStore(home: g.practiceHome).loadOwnCard()
        let prisonCard = try KeyStore(home: g.prisonHome).loadOwnCard()
        // Two logs of the same size from the same key: the practice and the prison in another order.
        func served(_ cards: [IdentityCard], _ name: String) throws -> TileFolder {
            var log = DirectoryLog()
            for card in cards { log.append(try DirectoryEntry.admit(card, validFrom: now - 60, validUntil: now + 86_400)) }
            let folder = TileFolder(path: g.folder.appending(name))
            for (path, bytes) in log.tiles(since: 0) { try folder.write(path, bytes) }
            try folder.writeCheckpoint(try log.checkpoint(verifier: card.verifier, key: key, time: now).bytes)
            return folder
        }
        let honest = try served([practiceCard, prisonCard], "honest"), split = try served([prisonCard, practiceCard], "split")
        for (home, view) in [(g.practiceHome, split), (g.prisonHome, honest)] {
            let client = DirectoryClient(home: home)
            try client.join(card)
            _ = try client.sync(from: view)
        }

        guard case .claimed(let id) = try await g.drop("summary.xml", Array("<summary/>".utf8)) else {
            Issue.record("not claimed"); return
        }
        _ = await g.practice.processOutgoing()
        _ = await g.prison.collect()
        let receiptFile = g.mailboxRoot + "/A81001/\(id).YOI123.ghr"
        let receipt = try Receipt.parse(try #require(g.read(receiptFile)))
        #expect(receipt.directoryCheckpoint == (try DirectoryClient(home: g.prisonHome).log.readCheckpoint()))
        _ = await g.practice.collect()
        #expect(try g.state(id) == .acknowledged)
        let evidence = g.list(g.practiceHome.path + "/directory/evidence")
        #expect(evidence.contains { $0.hasSuffix("-fork.checkpoint") } && evidence.contains { $0.hasSuffix("-trusted.checkpoint") },
                "\(evidence)")
        let watch = try #require(try DirectoryClient(home: g.practiceHome).watch(own: practiceCard))
        #expect(watch.evidence.contains { $0.hasSuffix("-fork.checkpoint") })

        // People hear of it once (`directory.alarm`), not again at the next receipt showing it.
        let queue = g.practiceHome.path + "/spool/notify"
        func alarms() throws -> [NotifyEvent] {
            try NotifyQueue(folder: queue, limit: 100).all().map(\.event).filter { $0.event == "directory.alarm" }
        }
        #expect(try alarms().count == 1)
        #expect(try alarms().first?.reason?.hasPrefix("equivocation: directory equivocation: YOI123's receipt") == true)
        #expect(try alarms().first?.partner == NotifyEvent.Partner(ods: "YOI123", name: "HMP Northgate Healthcare"))
        guard case .claimed(let again) = try await g.drop("summary2.xml", Array("<summary/>".utf8)) else {
            Issue.record("not claimed"); return
        }
        _ = await g.practice.processOutgoing()
        _ = await g.prison.collect()
        _ = await g.practice.collect()
        #expect(try g.state(again) == .acknowledged)
        #expect(try alarms().count == 1)
    }
}
