import Foundation
import GatehouseFormat
import GatehouseJournal
import GatehouseJournalPostgres
import GRDB
import GatehouseTesting
import Testing

/// Every test runs against both journals: the SQLite file and PostgreSQL (a real server started
/// by the harness, a database of its own per test).
@Suite("Journal (SQLite file and PostgreSQL)")
struct JournalTests {
    let folder: TemporaryDirectory

    init() throws {
        folder = try TemporaryDirectory()
    }

    func record(_ id: String, at time: Int64 = 1_000) -> OutgoingRecord {
        OutgoingRecord(bundleID: TestID.bundle(id), partner: TestID.ods("YOI123"), createdAt: time, expiresAt: time + 86_400_000)
    }

    @Test(arguments: JournalBackend.allCases) func outgoingLifecycleKeepsEveryTransition(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        var r = record("00112233445566778899aabbccddeeff")
        let file = OutgoingFile(bundleID: r.bundleID, position: 0, name: "summary é.xml", size: 12, sourcePath: "/outbox/YOI123/summary é.xml", workPath: "/work/x")
        try journal.insert(r, files: [file], detail: "claimed")
        for (state, time) in [(OutgoingState.sealed, 2_000), (.delivered, 3_000), (.acknowledged, 4_000)] as [(OutgoingState, Int64)] {
            r.state = state
            r.updatedAt = time
            try journal.save(r, detail: "to \(state)")
        }
        r.attempts = 3
        try journal.save(r)  // no state change: no new transition
        #expect(try journal.outgoing(r.bundleID) == r)
        #expect(try journal.files(of: r.bundleID) == [file])
        #expect(try journal.isClaimed(sourcePath: "/outbox/YOI123/summary é.xml"))
        let history = try journal.transitions(of: r.bundleID)
        #expect(history.map(\.state) == ["queued", "sealed", "delivered", "acknowledged"])
        #expect(history.map(\.at) == [1_000, 2_000, 3_000, 4_000])
        #expect(try journal.outgoing(in: [.acknowledged]).map(\.bundleID) == [r.bundleID])
        #expect(try journal.outgoing(in: [.queued, .sealed]).isEmpty)
    }

    @Test(arguments: JournalBackend.allCases) func aFinalStateIsNeverLeft(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        var r = record("ffeeddccbbaa99887766554433221100")
        try journal.insert(r, files: [], detail: "claimed")
        r.state = .acknowledged
        #expect(try journal.save(r))
        // Work that started before the receipt (a delivery that then failed) saves a stale state.
        var stale = r
        stale.state = .sealed
        stale.lastError = "delivery failed"
        #expect(try journal.save(stale) == false)
        #expect(try journal.outgoing(r.bundleID)?.state == .acknowledged)
        #expect(try journal.outgoing(r.bundleID)?.lastError == nil)
        #expect(try journal.transitions(of: r.bundleID).map(\.state) == ["queued", "acknowledged"])
        // Within the final state, details may still change.
        r.attempts = 9
        #expect(try journal.save(r))
        #expect(try journal.outgoing(r.bundleID)?.attempts == 9)
    }

    @Test(arguments: JournalBackend.allCases) func incomingIsRecordedOnceWithItsReceipt(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        let incoming = IncomingRecord(bundleID: TestID.bundle("ffeeddccbbaa99887766554433221100"), sender: TestID.ods("A81001"), state: .published,
                                      receivedAt: 5_000, bundleSHA256: String(repeating: "ab", count: 32), publishedPath: "/received/A81001/x",
                                      receipt: [1, 2, 3])
        try journal.insert(incoming)
        #expect(try journal.incoming(incoming.bundleID) == incoming)
        // A duplicate insert is refused: the receiver deduplicates by bundle id.
        #expect(throws: (any Error).self) { try journal.insert(incoming) }
        #expect(try journal.allIncoming().count == 1)
    }

    @Test(arguments: JournalBackend.allCases) func survivesReopening(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        let r = record("0102030405060708090a0b0c0d0e0f10")
        try journal.insert(r, files: [])
        let reopened = try opened.reopen()
        #expect(try reopened.outgoing(r.bundleID) == r)
    }

    @Test(arguments: JournalBackend.allCases) func countsByStateFollowEveryChange(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        var rows = (0..<5).map { record(String(format: "%032x", $0), at: Int64(1_000 + $0)) }
        try journal.insert(rows.map { NewOutgoing(record: $0, files: []) })
        #expect(try journal.outgoingCounts() == [.queued: 5])
        rows[0].state = .sealed
        rows[1].state = .acknowledged
        try journal.save(rows[0])
        try journal.save(rows[1])
        rows[0].attempts = 2
        try journal.save(rows[0])  // no state change
        #expect(try journal.outgoingCounts() == [.queued: 3, .sealed: 1, .acknowledged: 1])
    }

    @Test(arguments: JournalBackend.allCases) func dueExpiredAndNextAreReadThroughTheIndexes(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        var a = record("000000000000000000000000000000aa", at: 1_000)
        var b = record("000000000000000000000000000000bb", at: 2_000)
        var c = record("000000000000000000000000000000cc", at: 3_000)
        a.nextAttemptAt = 5_000
        b.nextAttemptAt = 9_000
        c.state = .delivered
        c.expiresAt = 4_000
        try journal.insert([a, b, c].map { NewOutgoing(record: $0, files: []) })
        #expect(try journal.dueOutgoing(now: 6_000, limit: 10).map(\.bundleID) == [a.bundleID])
        #expect(try journal.dueOutgoing(now: 10_000, limit: 1).map(\.bundleID) == [a.bundleID])
        #expect(try journal.nextAttemptAt() == 5_000)
        #expect(try journal.expiredOutgoing(now: 4_000).map(\.bundleID) == [c.bundleID])
        c.state = .acknowledged
        try journal.save(c)
        #expect(try journal.expiredOutgoing(now: 4_000).isEmpty)
        #expect(try journal.newestOutgoing(limit: 2).map(\.record.bundleID) == [c.bundleID, b.bundleID])
        #expect(try journal.newestOutgoing(limit: 3).allSatisfy(\.files.isEmpty))
    }

    /// Records are read back column by column (not through Decodable): every field, a stored
    /// receipt as the journal has always written it, and the listing of many bundles with their
    /// files in order (`status --limit 0` on a large journal once failed: too many parameters).
    @Test(arguments: JournalBackend.allCases) func everyFieldAndManyBundlesReadBack(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        var full = record("ffeeddccbbaa99887766554433221100", at: 9_000)
        full.state = .acknowledged
        full.attempts = 4
        full.nextAttemptAt = 9_500
        full.bundleSHA256 = String(repeating: "ab", count: 32)
        full.bundleSize = 52_001
        full.lastError = "YOI123's relay refused: quota"
        full.receipt = [0, 1, 127, 128, 255] + Array(repeating: 42, count: 400)
        try journal.insert(full, files: [])
        #expect(try journal.outgoing(full.bundleID) == full)
        var listed = full
        listed.receipt = nil
        #expect(try journal.newestOutgoing(limit: 1).map(\.record) == [listed])

        let bundles = (0..<1_200).map { n in
            let r = record(String(format: "%032x", n), at: Int64(n))
            return NewOutgoing(record: r, files: (0..<(n % 3 + 1)).map {
                OutgoingFile(bundleID: r.bundleID, position: $0, name: "r\(n)-\($0).xml", size: Int64(n), sourcePath: "/outbox/YOI123/r\(n)-\($0).xml", workPath: "/w/\(n)-\($0)")
            }, detail: nil)
        }
        try journal.insert(bundles)
        let all = try journal.newestOutgoing(limit: Int.max)
        #expect(all.map(\.record.bundleID) == [full.bundleID] + bundles.reversed().map(\.record.bundleID))
        #expect(all.dropFirst().map(\.files) == bundles.reversed().map(\.files))
        #expect(try journal.newestOutgoing(limit: 10).map(\.record) == Array(all.prefix(10).map(\.record)))
    }

    /// Bundles claimed in one batch can share a millisecond: they are listed newest-inserted
    /// first, the same order whatever the limit.
    @Test(arguments: JournalBackend.allCases) func bundlesOfOneMillisecondKeepTheirOrder(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        let ids = ["ff", "00", "aa", "11", "cc"].map { TestID.bundle(String(repeating: $0, count: 16)) }
        try journal.insert(ids.map { NewOutgoing(record: record($0.hex, at: 5_000), files: []) })
        #expect(try journal.newestOutgoing(limit: 10).map(\.record.bundleID) == ids.reversed())
        #expect(try journal.newestOutgoing(limit: 2).map(\.record.bundleID) == Array(ids.reversed().prefix(2)))
    }

    /// A journal edited by hand or damaged: values Gatehouse never writes are refused with the
    /// column named, never read as something else.
    @Test(arguments: [(JournalBackend.sqlite, "state", "'lost'", "outgoing.state"),
                      (.sqlite, "receipt", "'[1,2,'", "outgoing.receipt"), (.sqlite, "receipt", "7", "outgoing.receipt"),
                      (.sqlite, "partner", "'yoi 123'", "outgoing.partner"),
                      (.postgresql, "state", "'lost'", "outgoing.state"),
                      (.postgresql, "partner", "'YOI123/../A81001'", "outgoing.partner")])
    func valuesGatehouseNeverWritesAreNamedErrors(backend: JournalBackend, column: String, value: String, named: String) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        let r = record("0123456789abcdef0123456789abcdef")
        try journal.insert(r, files: [])
        try opened.execute("UPDATE outgoing SET \(column) = \(value)")
        let error = #expect(throws: JournalValueError.self) { try journal.outgoing(r.bundleID) }
        #expect(error?.column == named)
        #expect("\(error.map { "\($0)" } ?? "")".contains("which Gatehouse never writes"))
    }

    /// The same for incoming bundles: a sender or bundle id that is not one is refused with the
    /// column named; `unknown` (a header that could not be read) is read as no sender.
    @Test(arguments: [(JournalBackend.sqlite, "sender", "'A81 001'", "incoming.sender"),
                      (.sqlite, "bundleID", "'../../etc'", "incoming.bundleID"),
                      (.postgresql, "sender", "'a81001'", "incoming.sender"),
                      (.postgresql, "bundle_id", "'0123'", "incoming.bundle_id")])
    func incomingValuesGatehouseNeverWritesAreNamedErrors(backend: JournalBackend, column: String, value: String,
                                                          named: String) throws {
        let opened = try backend.open(in: folder)
        let journal = opened.journal
        try journal.insert(IncomingRecord(bundleID: TestID.bundle(7), sender: nil, state: .rejected, receivedAt: 1,
                                          bundleSHA256: String(repeating: "0", count: 64), reason: "malformed: x",
                                          receipt: [1]))
        #expect(try journal.allIncoming().map(\.sender) == [nil], "unknown is read back as no sender")
        try opened.execute("UPDATE incoming SET \(column) = \(value)")
        let error = #expect(throws: JournalValueError.self) { try journal.allIncoming() }
        #expect(error?.column == named)
    }
}
