import Foundation
import GatehouseFormat
import GatehouseJournal
import GatehouseJournalPostgres
import GatehouseTesting
import Testing

/// The inbox's search by NHS number through the index (NHSIndex.swift), on both journals: whole,
/// valid numbers of received packs only, bounded whatever a context holds, and backfilled when an
/// older journal is migrated.
extension JournalTests {
    /// Valid test NHS numbers (999 000 0000 onwards), in order.
    static let validNumbers = (9_990_000_000..<9_990_001_000).map(String.init).filter(NHSNumber.isValid)

    func receive(_ journal: any Journal, _ n: Int, numbers: [String], at time: Int64,
                 state: IncomingState = .published) throws {
        let record = IncomingRecord(
            bundleID: TestID.bundle(n), sender: TestID.ods("A81001"), state: state, receivedAt: time,
            bundleSHA256: String(repeating: "0", count: 64), receipt: [UInt8(truncatingIfNeeded: n)])
        try journal.insert(record, detail: "published", context: state == .published
            ? PackContext(subject: "Pack \(n)", workflow: try Workflow("reception-summary"), nhsNumbers: numbers) : nil)
    }

    func search(_ journal: any Journal, _ number: String) throws -> [BundleID] {
        var filter = IncomingFilter()
        filter.nhsNumber = number
        return try journal.incoming(matching: filter).map(\.record.bundleID)
    }

    @Test(arguments: JournalBackend.allCases)
    func anNHSNumberFindsOnlyReceivedPacksNamingThatWholeNumberNewestFirst(_ backend: JournalBackend) throws {
        let journal = try backend.open(in: folder).journal
        let (a, b, c) = (Self.validNumbers[0], Self.validNumbers[1], Self.validNumbers[2])
        try receive(journal, 1, numbers: [a], at: 1_000)
        try receive(journal, 2, numbers: [b, a], at: 3_000)
        try receive(journal, 3, numbers: [b], at: 2_000)
        // Sent, not received: the same number in an outgoing pack is not in the inbox.
        try journal.insert([NewOutgoing(record: record(TestID.bundle(9).hex), files: [], detail: "claimed",
                                        context: PackContext(nhsNumbers: [c]), pack: "send-9")])
        let id = { (n: Int) in TestID.bundle(n) }
        #expect(try search(journal, a) == [id(2), id(1)])
        #expect(try search(journal, b) == [id(2), id(3)])
        #expect(try search(journal, c) == [])
        // Listings leave the receipts out (half an Inbox page's CPU went into decoding them); one
        // bundle read by id has its receipt.
        #expect(try journal.incoming(matching: IncomingFilter()).allSatisfy { $0.record.receipt.isEmpty })
        #expect(try journal.incoming(id(2))?.receipt == [2])
        // With the other filters: the index narrows, the rest still apply.
        var filter = IncomingFilter()
        filter.nhsNumber = a
        filter.until = 2_000
        #expect(try journal.incoming(matching: filter).map(\.record.bundleID) == [id(1)])
        #expect(try journal.incoming(matching: filter).first?.pack?.context.nhsNumbers == [a])
        // Fragments, wildcards and invalid numbers match nothing (they are never indexed).
        for probe in ["%", "_", "% %", "999000001_", String(a.dropLast()), a + "0", "9990000019", "", "' OR 1=1 --"] {
            #expect(try search(journal, probe) == [], "\(probe)")
        }
    }

    /// The insider's context: thousands of numbers, duplicates, invalid ones, two numbers in one
    /// string, wildcards. The index holds at most 64 valid, distinct numbers of it, and none of
    /// the junk makes another pack or a number it does not name match.
    @Test(arguments: JournalBackend.allCases)
    func aCraftedContextCannotBlowUpTheIndexOrMatchWhatItDoesNotName(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        let valid = Self.validNumbers
        let hidden = valid[64]  // the 65th valid, distinct number: past the 64 indexed
        let joined = "\(valid[80]) \(valid[81])"  // one "number" holding a space
        var crafted = [valid[0], valid[0], "9990000019", "%", "", joined] + Array(valid[1..<70]) + [hidden]
        crafted += (0..<5_000).map { String(format: "12345%05d", $0) }
        try receive(journal, 1, numbers: crafted, at: 1_000)
        #expect(try opened.indexRows() == 64)
        #expect(try search(journal, valid[0]) == [TestID.bundle(1)])
        #expect(try search(journal, valid[63]) == [TestID.bundle(1)])
        #expect(try search(journal, hidden) == [])
        #expect(try search(journal, valid[80]) == [], "a crafted \"\(joined)\" is one invalid number, not two")
        // A refused bundle has no verified context: nothing of it is indexed.
        try receive(journal, 2, numbers: [valid[0]], at: 2_000, state: .rejected)
        #expect(try search(journal, valid[0]) == [TestID.bundle(1)])
        #expect(try opened.indexRows() == 64)
    }

    /// A journal from before the index: migrating it indexes every pack it holds (more than one
    /// batch of the backfill), by the same rule as new packs.
    @Test(arguments: JournalBackend.allCases)
    func migratingAnOlderJournalBackfillsTheIndex(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let count = NHSIndex.backfillBatch + 50
        let (a, b) = (Self.validNumbers[0], Self.validNumbers[1])
        try receive(opened.journal, count + 1, numbers: [b], at: 5_000)
        // Back to the schema before the index, with a batch and a half of packs written behind the
        // journal's back (each naming one valid number twice and an invalid one).
        switch backend {
        case .sqlite:
            try opened.execute("""
                DROP TABLE packNHS; DELETE FROM grdb_migrations WHERE identifier = 'v5-pack-nhs';
                WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < \(count - 1))
                INSERT INTO pack SELECT printf('%032x', n), 'in', NULL, 'old', 'other', '\(a) 9990000019 \(a)' FROM k
                """)
        case .postgresql:
            try opened.execute("DROP TABLE pack_nhs")
            try opened.execute("DELETE FROM gatehouse_schema WHERE version = 4")
            try opened.execute("""
                INSERT INTO pack SELECT 'A81001', lpad(to_hex(n), 32, '0'), 'in', NULL, 'old', 'other',
                    '\(a) 9990000019 \(a)' FROM generate_series(0, \(count - 1)) n
                """)
        }
        let journal = try opened.reopen()
        #expect(try opened.indexRows() == count + 1)
        try receive(journal, count + 2, numbers: [a], at: 6_000)
        #expect(try search(journal, b) == [TestID.bundle(count + 1)])
        #expect(try search(journal, a) == [TestID.bundle(count + 2)])  // the seeded packs have no bundle rows
        #expect(try opened.indexRows() == count + 2)
    }

    /// One PostgreSQL database, two organisations: each one's search finds only its own packs,
    /// even for a bundle id and NHS number both hold, and whichever migrated the index.
    @Test func aSearchNeverCrossesOrganisationsInOneDatabase() throws {
        let server = try PostgresServer.shared.get()
        let settings = try PostgresSettings(server.journalSettings(database: try server.createDatabase()))
        let practice = try PostgresJournal(settings: settings, org: ODSCode("A81001"), migrate: true)
        let other = try PostgresJournal(settings: settings, org: ODSCode("B82002"), migrate: false)
        let number = Self.validNumbers[0]
        try receive(practice, 1, numbers: [number], at: 1_000)
        try receive(other, 1, numbers: [number], at: 2_000)  // the same bundle id, in the other's rows
        try receive(other, 2, numbers: [number], at: 3_000)
        #expect(try search(practice, number) == [TestID.bundle(1)])
        #expect(try practice.incoming(matching: { var f = IncomingFilter(); f.nhsNumber = number; return f }())
            .map(\.record.receivedAt) == [1_000])
        #expect(try search(other, number) == [TestID.bundle(2), TestID.bundle(1)])
    }
}
