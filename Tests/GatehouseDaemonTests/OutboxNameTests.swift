import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

/// Names that must not share a bundle, and names that must never reach a log or a reason file
/// as they are (issue 13: look-alike and invisible characters).
@Suite("Outbox names: case-fold twins and hostile characters")
struct OutboxNameTests {
    let twins: [(name: String, bytes: [UInt8])] = [
        ("Report.pdf", Array("%PDF practice copy 9990000018".utf8)),
        ("report.pdf", Array("%PDF prison copy 9990000026".utf8)),
        ("STRASSE.txt", Array("Ada Testperson, Hauptstrasse 1".utf8)),
        ("straße.txt", Array("Ada Testperson, Hauptstraße 1".utf8)),
    ]

    @Test func namesEqualAfterCaseFoldingNeverShareABundle() throws {
        let a = try ODSCode("YOI123"), b = try ODSCode("A81001")
        let files: [(partner: ODSCode, name: String, size: Int64)] = [
            (a, "Report.pdf", 1), (a, "STRASSE.txt", 1), (b, "report.pdf", 1), (a, "report.pdf", 1),
            (a, "straße.txt", 1), (a, "REPORT.PDF", 1), (a, "notes.txt", 1),
        ]
        let groups = GatewayEngine.batches(files, maxFiles: 100, maxBytes: 1 << 20)
        // b's report.pdf is another partner's; a's twins each start a new bundle.
        #expect(groups == [[0, 1], [3, 4], [5, 6], [2]])
        for group in groups {
            let names = group.map { files[$0].name }
            #expect(throws: Never.self) { try FileNameRule.checkDistinct(names) }
        }
    }

    /// The four records, claimed together, were one bundle that could never be sealed ("names in
    /// a bundle must be unique, ignoring case"): retried until it expired, nothing delivered.
    @Test func recordsWhoseNamesDifferOnlyInCaseAreAllDelivered() async throws {
        let g = try TwoGateways()
        let folder = g.practiceHome.path + "/spool/outbox/YOI123"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var offered: [OutboxFile] = []
        for twin in twins {
            try writeClosed(twin.bytes, to: "\(folder)/\(twin.name)")
            offered.append(OutboxFile(partner: "YOI123", path: "\(folder)/\(twin.name)", name: twin.name, size: 0))
        }
        let ids = await g.practice.claim(offered).compactMap { if case .claimed(let id) = $0 { id } else { nil } }
        #expect(ids.count == 4)
        #expect(ids[0] != ids[1] && ids[2] != ids[3], "\(ids)")
        _ = await g.practice.processOutgoing()
        for id in Set(ids) { #expect(try g.state(id) == .delivered, "\(id)") }
        #expect(await g.prison.collect() == Set(ids).count)
        #expect(await g.practice.collect() == Set(ids).count)
        for id in Set(ids) { #expect(try g.state(id) == .acknowledged, "\(id)") }
        for (id, twin) in zip(ids, twins) {
            #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/\(twin.name)") == twin.bytes, "\(twin.name)")
        }
    }

    /// A name refused for a bidirectional override was written into `failed/…/reason.txt` (and
    /// the log) as it is, so the reason itself showed `exe.pdf` reversed.
    @Test func aRefusedNameIsShownEscapedInItsReason() async throws {
        let g = try TwoGateways()
        guard case .refused = try await g.drop("report\u{202E}fdp.exe", [1]) else { Issue.record("claimed"); return }
        let failed = g.list(g.practiceHome.path + "/spool/failed")
        #expect(failed.count == 1)
        let reason = String(decoding: g.read(g.practiceHome.path + "/spool/failed/\(failed.first ?? "")/reason.txt") ?? [],
                            as: UTF8.self)
        #expect(reason.hasPrefix("not sent: \"report\\u{202E}fdp.exe\" for YOI123: "), "\(reason)")
        #expect(!reason.unicodeScalars.contains("\u{202E}"), "\(reason.debugDescription)")
    }

    /// The same for a name another organisation wrote into this gateway's mailbox.
    @Test func anUnknownMailboxNameIsShownEscapedInItsQuarantineReason() async throws {
        let g = try TwoGateways()
        try g.put(Array("junk".utf8), in: "YOI123", as: "invoice\u{202E}txt.exe")
        #expect(await g.prison.collect() == 1)
        let folder = try #require(g.prisonQuarantine.first { $0.hasPrefix("unknown-") })
        let reason = g.reason(folder)
        #expect(reason.hasPrefix("UNKNOWN ITEM: \"invoice\\u{202E}txt.exe\" is not a bundle"), "\(reason)")
        #expect(!reason.unicodeScalars.contains("\u{202E}"), "\(reason.debugDescription)")
    }
}
