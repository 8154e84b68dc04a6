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
        try SplitDirectory(g).split(g)
        let practiceCard = try KeyStore(home: g.practiceHome).loadOwnCard()

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
