import GatehouseFormat
import Foundation
import GatehouseJournal
import GatehouseTesting
import Testing

/// `gatehouse status` and `gatehouse receipt show` over a journal made for the purpose: bundle
/// ids abbreviated as git abbreviates commits, and columns that never run together.
@Suite("gatehouse status: id prefixes and columns")
struct OutgoingListingTests {
    let folder: TemporaryDirectory
    let home: String
    static let first = "abcd0000111122223333444455556666"
    static let second = "abcd1111222233334444555566667777"
    static let relayError = "the relay refused: YOI123's mailbox is full (100000 files); the bundle waits and is "
        + "retried"

    init() throws {
        folder = try TemporaryDirectory()
        home = folder.appending("practice")
        try GatehouseProcess.initialise(home)
        try FileManager.default.createDirectory(atPath: home + "/spool", withIntermediateDirectories: true)
        let journal = try SQLiteJournal(path: home + "/spool/journal.sqlite")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (n, id) in [Self.first, Self.second].map(TestID.bundle).enumerated() {
            var record = OutgoingRecord(bundleID: id, partner: TestID.ods("YOI123"), createdAt: now + Int64(n),
                                        expiresAt: now + 86_400_000)
            if n == 1 { record.lastError = Self.relayError }
            let file = OutgoingFile(bundleID: id, position: 0, name: "record \(n).xml", size: 498, sourcePath: "",
                                    workPath: "")
            try journal.insert(record, files: [file])
        }
    }

    func status(_ arguments: String...) throws -> ProcessOutput {
        try GatehouseProcess.run(["status", "--home", home] + arguments)
    }

    @Test func aUniquePrefixNamesItsBundleAndOthersAreRefusedClearly() throws {
        let shown = try status("abcd0")
        #expect(shown.status == 0 && shown.stdout.contains("bundle:      \(Self.first)"), "\(shown)")
        let upper = try status("ABCD11", "--json")
        #expect(upper.status == 0 && upper.stdout.contains("\"bundle_id\" : \"\(Self.second)\""), "\(upper)")

        let ambiguous = try status("abcd")
        #expect(ambiguous.status == 12)
        #expect(ambiguous.stderr.contains("gatehouse: error: abcd is ambiguous: 2 outgoing bundles")
                && ambiguous.stderr.contains(Self.first) && ambiguous.stderr.contains(Self.second)
                && ambiguous.stderr.contains("gatehouse: hint: give more digits"), "\(ambiguous.stderr)")
        let unknown = try status("abce")
        #expect(unknown.status == 12 && unknown.stderr.contains("has an id starting with abce"), "\(unknown.stderr)")
        for bad in ["abc", "abcg", "abcd0000111122223333444455556666f", "../../etc"] {
            let refused = try status(bad)
            #expect(refused.status == 12 && refused.stderr.contains("the first 4 or more"), "\(bad): \(refused.stderr)")
        }

        // receipt show takes the same prefixes.
        let receipt = try GatehouseProcess.run(["receipt", "show", "--home", home, "abcd1"])
        #expect(receipt.status == 15 && receipt.stderr.contains("bundle \(Self.second) to YOI123 has no receipt yet"),
                "\(receipt.stderr)")
        #expect(try GatehouseProcess.run(["receipt", "show", "--home", home, "abcd"]).status == 12)
    }

    @Test func columnsNeverRunTogether() throws {
        let listed = try status()
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n").map(String.init)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("BUNDLE") }) else {
            Issue.record("no header in \(listed.stdout)")
            return
        }
        let names = ["BUNDLE", "PARTNER", "STATE", "FILES", "UPDATED", "LAST ERROR"]
        let starts = names.map { lines[header].range(of: $0)!.lowerBound.utf16Offset(in: lines[header]) }
        #expect(starts == starts.sorted())
        for row in lines[(header + 1)...] {
            let utf16 = Array(row.utf16)
            // Every cell begins where its header does, after at least two spaces.
            for start in starts.dropFirst() where utf16.count > start {
                #expect(utf16[start - 2] == 0x20 && utf16[start - 1] == 0x20, "\(row)")
            }
            let updated = String(decoding: utf16[starts[4]..<min(utf16.count, starts[4] + 24)], as: UTF16.self)
            #expect(updated.count == 24 && updated.hasSuffix("Z"), "the UPDATED column is cut: \(row)")
        }
        #expect(lines.contains { $0.hasSuffix(Self.relayError) })
    }
}
