import GatehouseFormat
@testable import GatehouseJournal
import GatehouseTesting
import GRDB
import Testing

/// `saveRepeatable`: a transition committed without waiting for the disk (a delivery) keeps
/// every rule of `save`, and leaves every other commit durable.
@Suite("Journal: repeatable transitions")
struct RepeatableSaveTests {
    let folder: TemporaryDirectory

    init() throws { folder = try TemporaryDirectory() }

    @Test(arguments: JournalBackend.allCases) func aRepeatableSaveKeepsTheRulesOfSave(_ backend: JournalBackend) throws {
        let opened = try backend.open(in: folder)
        var r = OutgoingRecord(bundleID: TestID.bundle("0f1e2d3c4b5a69788796a5b4c3d2e1f0"), partner: TestID.ods("YOI123"), createdAt: 1_000,
                               expiresAt: 86_401_000)
        try opened.journal.insert(r, files: [], detail: "claimed")
        r.state = .sealed
        try opened.journal.save(r, detail: "sealed")
        r.state = .delivered
        r.updatedAt = 3_000
        #expect(try opened.journal.saveRepeatable(r, detail: "delivered"))
        // Committed: another connection (a restarted daemon after kill -9) reads it.
        let reopened = try opened.reopen()
        #expect(try reopened.outgoing(r.bundleID)?.state == .delivered)
        #expect(try reopened.transitions(of: r.bundleID).map(\.state) == ["queued", "sealed", "delivered"])
        // A delivery journalled after the receipt never moves the bundle back.
        r.state = .acknowledged
        try opened.journal.save(r, detail: "receipt verified")
        var stale = r
        stale.state = .delivered
        #expect(try opened.journal.saveRepeatable(stale, detail: "delivered") == false)
        #expect(try opened.reopen().outgoing(r.bundleID)?.state == .acknowledged)
    }

    @Test func everyOtherCommitStaysDurable() throws {
        let journal = try SQLiteJournal(path: folder.appending("journal.sqlite"))
        func synchronous() throws -> Int? { try journal.queue.read { try Int.fetchOne($0, sql: "PRAGMA synchronous") } }
        #expect(try synchronous() == 2)  // FULL
        var r = OutgoingRecord(bundleID: TestID.bundle("a0b1c2d3e4f5a6b7c8d9eaf0b1c2d3e4"), partner: TestID.ods("YOI123"), createdAt: 1_000,
                               expiresAt: 86_401_000)
        try journal.insert(r, files: [], detail: "claimed")
        r.state = .delivered
        try journal.saveRepeatable(r, detail: "delivered")
        #expect(try synchronous() == 2)
        // Also after a repeatable save that failed (no such bundle).
        var unknown = r
        unknown.bundleID = TestID.bundle("ffffffffffffffffffffffffffffffff")
        #expect(throws: (any Error).self) { try journal.saveRepeatable(unknown, detail: "delivered") }
        #expect(try synchronous() == 2)
    }
}
