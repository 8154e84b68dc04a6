import GatehouseFormat
import Foundation
import GatehouseDaemon
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

/// The syncs on a small record's way, step by step (claim, seal and deliver, receive, receipt),
/// counted by `SyncRecorder` through a directory mailbox: each folder synced once per step,
/// nothing synced that the journal or deduplication already covers, and every sync that
/// durability needs still there.
@Suite("Small records: the syncs on a record's way")
struct SmallRecordSyncTests {
    /// The paths synced while `body` runs, relative to the test folder.
    func syncs(_ g: TwoGateways, _ body: () async throws -> Void) async rethrows -> [String] {
        let recorder = SyncRecorder()
        try await SyncRecorder.$current.withValue(recorder) { try await body() }
        return recorder.synced.map { String($0.dropFirst(g.folder.path.count + 1)) }
    }

    @Test func eachFolderIsSyncedOncePerStepAndOnlyWhereItMatters() async throws {
        let g = try TwoGateways()
        var id = TestID.bundle(0)
        let claim = try await syncs(g) {
            guard case .claimed(let claimed) = try await g.drop("summary.xml", Array(repeating: 0x41, count: 100_000)) else {
                Issue.record("not claimed")
                return
            }
            id = claimed
        }
        // The move out of the outbox: both folders, and the new work folder's entry (once, not
        // once for the folder and again for the batch).
        #expect(claim == ["practice/spool/outbox/YOI123", "practice/spool/work/out", "practice/spool/work/out/\(id)"])

        let send = await syncs(g) { _ = await g.practice.processOutgoing() }
        // The sealed bundle and its name before it leaves; in the mailbox, the upload and its name.
        for path in ["practice/spool/work/out/\(id).ghb", "practice/spool/work/out", "mailboxes/YOI123/\(id).ghb", "mailboxes/YOI123"] {
            #expect(send.filter { $0 == path }.count == 1, "\(path) in \(send)")
        }
        #expect(!send.contains("practice/audit/audit.jsonl"), "\(send)")
        #expect(try g.state(id) == .delivered)

        let receive = await syncs(g) { #expect(await g.prison.collect() == 1) }
        // Published files and folders, and the receipt in the practice's mailbox, before it is
        // answered; one sync for both evidence copies; none for the work folder, the audit log
        // (synced in the background) or the mailbox the bundle left (deduplication covers it).
        for path in ["prison/spool/received/A81001", "mailboxes/A81001/\(id).YOI123.ghr", "mailboxes/A81001",
                     "prison/spool/evidence/in"] {
            #expect(receive.filter { $0 == path }.count == 1, "\(path) in \(receive)")
        }
        #expect(receive.contains { $0.hasPrefix("prison/spool/work/in/.tmp-") && $0.hasSuffix("/summary.xml") }, "\(receive)")
        for path in ["prison/spool/work/in", "prison/spool/evidence/in/\(id).ghr", "prison/audit/audit.jsonl", "mailboxes/YOI123"] {
            #expect(!receive.contains(path), "\(path) in \(receive)")
        }

        let acknowledge = await syncs(g) { #expect(await g.practice.collect() == 1) }
        #expect(acknowledge == ["practice/spool/sent/\(id)", "practice/spool/sent", "practice/spool/evidence/out"])
        #expect(try g.state(id) == .acknowledged)
        #expect(g.list(g.practiceHome.path + "/spool/evidence/out") == ["\(id).ghb", "\(id).ghr"])
        #expect(g.list(g.prisonHome.path + "/spool/evidence/in") == ["\(id).ghb", "\(id).ghr"])
        let receipt = try #require(try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").outgoing(id)?.receipt)
        #expect(g.read(g.practiceHome.path + "/spool/evidence/out/\(id).ghr") == receipt)
    }

    @Test func auditLinesAreWrittenAtOnceAndSyncedApart() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", [1, 2, 3]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        await g.prison.collect()
        await g.practice.collect()
        // Written (a killed daemon keeps them) before any sync: a process that read the log now
        // sees every event, in order, and the chain verifies.
        let log = AuditLog(home: g.practiceHome)
        let events = try log.entries().filter { $0.bundle == id.hex }.map(\.event)
        #expect(events == ["bundle-sealed", "bundle-delivered", "receipt-verified"])
        let synced = try await syncs(g) { try log.sync() }
        #expect(synced == ["practice/audit/audit.jsonl"])
        let verified = log.verify(keys: try KeyStore(home: g.practiceHome).loadOwnCard().manifest.signingKeys)
        #expect(verified.isIntact, "\(verified.problems)")
        #expect(verified.entries >= 3)
    }
}
