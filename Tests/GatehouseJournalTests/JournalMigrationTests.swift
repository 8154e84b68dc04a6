import GatehouseFormat
import GatehouseJournal
import GatehouseJournalPostgres
import GatehouseTesting
import Testing

/// `gatehouse journal migrate`: a SQLite journal copied into PostgreSQL reads back the same.
@Suite("Journal migration to PostgreSQL")
struct JournalMigrationTests {
    @Test func everyBundleFilePackAndTransitionIsCopiedOnce() throws {
        let folder = try TemporaryDirectory()
        let source = try SQLiteJournal(path: folder.appending("journal.sqlite"))
        let context = PackContext(subject: "Reception summary", workflow: try Workflow("reception-summary"),
                                  nhsNumbers: ["9990000018"])
        for n in 0..<5 {
            var record = OutgoingRecord(bundleID: TestID.bundle(n), partner: TestID.ods("YOI123"), createdAt: Int64(1_000 + n),
                                        expiresAt: 99_000)
            let files = (0...n % 2).map {
                OutgoingFile(bundleID: record.bundleID, position: $0, name: "r\(n)-\($0).xml", size: 10,
                             sourcePath: "/outbox/YOI123/r\(n)-\($0).xml", workPath: "/work/\(n)/\($0)")
            }
            try source.insert([NewOutgoing(record: record, files: files, detail: "claimed", context: n == 3 ? context : nil,
                                           pack: n == 3 ? "pack-3" : nil)])
            record.state = n < 3 ? .acknowledged : .sealed
            record.receipt = n < 3 ? [UInt8(n), 0, 255] : nil
            try source.save(record, detail: "moved on")
        }
        try source.insert(IncomingRecord(bundleID: TestID.bundle(String(repeating: "ab", count: 16)), sender: TestID.ods("YOI123"), state: .published,
                                         receivedAt: 7_000, bundleSHA256: String(repeating: "0", count: 64), receipt: [1]),
                          detail: "published", context: context)

        let server = try PostgresServer.shared.get()
        let settings = try PostgresSettings(server.journalSettings(database: try server.createDatabase()))
        let target = try PostgresJournal(settings: settings, org: ODSCode("A81001"), migrate: true)
        let snapshot = try source.snapshot()
        try target.load(snapshot)

        #expect(try target.newestOutgoing(limit: 100).map(\.record) == source.newestOutgoing(limit: 100).map(\.record))
        #expect(try target.newestOutgoing(limit: 100).map(\.files) == source.newestOutgoing(limit: 100).map(\.files))
        for n in 0..<5 {
            let id = TestID.bundle(n)
            #expect(try target.outgoing(id) == source.outgoing(id))
            #expect(try target.transitions(of: id) == source.transitions(of: id))
        }
        #expect(try target.pack(of: TestID.bundle(3), direction: "out") == source.pack(of: TestID.bundle(3), direction: "out"))
        #expect(try target.outgoingCounts() == [.acknowledged: 3, .sealed: 2])
        var filter = IncomingFilter()
        filter.nhsNumber = "9990000018"
        #expect(try target.incoming(matching: filter).map(\.record) == source.incoming(matching: filter).map(\.record))
        // Once only: a second copy onto the same organisation is refused, and nothing doubles.
        let again = #expect(throws: JournalError.self) { try target.load(snapshot) }
        #expect(again?.message.contains("already holds 6 bundles of A81001") == true)
        #expect(try target.outgoingCounts() == [.acknowledged: 3, .sealed: 2])
    }
}
