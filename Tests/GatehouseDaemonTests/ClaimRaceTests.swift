import Foundation
import Glibc
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Synchronization
import Testing

/// An insider who can write the outbox swaps a claimed record for a link, a FIFO or a hard link,
/// or a writer is not finished: nothing but the complete regular file ever leaves.
@Suite("Claiming and sealing originals: swaps, links, FIFOs and writers")
struct ClaimRaceTests {
    // A record that arrives in two pieces, as a writer that pauses between them writes it.
    let head = Array("<record nhs=\"9990000018\"".utf8)
    let tail = Array(">Ada Testperson</record>\n.......".utf8)

    func outbox(_ g: TwoGateways) throws -> String {
        let folder = g.practiceHome.path + "/spool/outbox/YOI123"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    func work(_ g: TwoGateways, _ id: BundleID, _ name: String) -> String { g.practiceHome.path + "/spool/work/out/\(id)/\(name)" }

    func signingKey(_ g: TwoGateways) -> String {
        let keys = g.practiceHome.path + "/keys"
        return keys + "/" + g.list(keys).first { $0.hasPrefix("signing-") }!
    }

    func reason(_ g: TwoGateways, _ folder: String) -> String {
        String(decoding: g.read(g.practiceHome.path + "/spool/failed/\(folder)/reason.txt") ?? [], as: UTF8.self)
    }

    func append(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test func aLinkSwappedInAfterTheClaimSendsNothing() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("summary.xml", head) else { Issue.record("not claimed"); return }
        // The record in the work folder becomes a link to the gateway's signing key.
        unlink(work(g, id, "summary.xml"))
        #expect(symlink(signingKey(g), work(g, id, "summary.xml")) == 0)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .failed)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        #expect(reason(g, id.hex).contains("a symbolic link, not a regular file"), "\(reason(g, id.hex))")
        #expect(fileType(g.practiceHome.path + "/spool/failed/\(id)/summary.xml") == S_IFLNK)
    }

    @Test func aFIFOSwappedInIsRefusedWithoutWaitingForAWriter() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("summary.xml", head) else { Issue.record("not claimed"); return }
        unlink(work(g, id, "summary.xml"))
        #expect(mkfifo(work(g, id, "summary.xml"), 0o600) == 0)
        let unblocker = FIFOUnblocker(path: work(g, id, "summary.xml"))
        _ = await g.practice.processOutgoing()
        unblocker.stop()
        // Nothing ever opened it to read (code that did would have waited for a writer for ever).
        #expect(unblocker.releasedReaders == 0)
        #expect(try g.state(id) == .failed)
        #expect(reason(g, id.hex).contains("a FIFO, not a regular file"), "\(reason(g, id.hex))")
        #expect(fileType(g.practiceHome.path + "/spool/failed/\(id)/summary.xml") == S_IFIFO)
        // The engine still works: the next record travels.
        guard case .claimed(let next) = try await g.drop("next.xml", head) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(try g.state(next) == .delivered)
    }

    /// O_NOFOLLOW guards only a path's last component: a partner folder swapped for a link to
    /// another folder (keys/, say) must not make its files claimable or movable.
    @Test func aPartnerFolderThatIsALinkGivesNothingAway() async throws {
        let g = try TwoGateways()
        let secrets = g.folder.appending("secrets")
        try FileManager.default.createDirectory(atPath: secrets, withIntermediateDirectories: true)
        try writeClosed(Array("secret key bytes".utf8), to: secrets + "/signing-0123.key")
        let outbox = g.practiceHome.path + "/spool/outbox"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: outbox + "/YOI123", withDestinationPath: secrets)
        let outcome = await g.practice.claim(partner: "YOI123", path: outbox + "/YOI123/signing-0123.key", name: "signing-0123.key")
        guard case .refused(let why) = outcome else { Issue.record("claimed through a linked folder: \(outcome)"); return }
        #expect(why.contains("symbolic link"), "\(why)")
        // Refusing moves nothing out of the linked folder either.
        _ = await g.practice.refuse(path: outbox + "/YOI123/signing-0123.key", partner: "YOI123", reason: why)
        #expect(g.read(secrets + "/signing-0123.key") == Array("secret key bytes".utf8))
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
    }

    @Test func aHardLinkToAFileElsewhereIsNeverSent() async throws {
        let g = try TwoGateways()
        let secret = g.folder.appending("other-patient.xml")
        try Data(Array("<record nhs=\"9990000026\"/>".utf8)).write(to: URL(fileURLWithPath: secret))
        #expect(link(secret, try outbox(g) + "/innocent.xml") == 0)
        let outcome = await g.practice.claim(partner: "YOI123", path: try outbox(g) + "/innocent.xml", name: "innocent.xml")
        guard case .refused(let why) = outcome else { Issue.record("claimed a hard link: \(outcome)"); return }
        #expect(why.contains("hard link"))
        #expect(g.list(g.practiceHome.path + "/spool/failed").count == 1)
        // A second name made after the claim is found when sealing.
        guard case .claimed(let id) = try await g.drop("summary.xml", head) else { Issue.record("not claimed"); return }
        #expect(link(work(g, id, "summary.xml"), g.folder.appending("kept-elsewhere.xml")) == 0)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .failed)
        #expect(reason(g, id.hex).contains("hard link"), "\(reason(g, id.hex))")
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        #expect(g.read(secret) == Array("<record nhs=\"9990000026\"/>".utf8))
    }

    @Test func onlyTheSwappedFileLeavesABundleTheOthersAreSent() async throws {
        let g = try TwoGateways()
        let folder = try outbox(g)
        let files = try ["a.xml", "b.xml"].map { name in
            try Data(head).write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
            return OutboxFile(partner: "YOI123", path: "\(folder)/\(name)", name: name, size: 0)
        }
        let outcomes = await g.practice.claim(files)
        guard case .claimed(let id) = outcomes[0], outcomes[1] == outcomes[0] else { Issue.record("\(outcomes)"); return }
        unlink(work(g, id, "b.xml"))
        #expect(symlink(signingKey(g), work(g, id, "b.xml")) == 0)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").files(of: id).map(\.name) == ["a.xml"])
        let failed = g.list(g.practiceHome.path + "/spool/failed")
        #expect(failed.count == 1 && reason(g, failed[0]).contains("symbolic link"), "\(failed)")
        #expect(await g.prison.collect() == 1)
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001/\(id)").filter { !$0.hasPrefix(".") } == ["a.xml"])
    }

    @Test func aLinkLeftByACrashInTheOutboxIsJudgedAfterRecovery() async throws {
        let g = try TwoGateways()
        // A claim journalled before a crash; meanwhile its path became a link to the signing key.
        let source = try outbox(g) + "/late.xml"
        #expect(symlink(signingKey(g), source) == 0)
        let id = TestID.bundle("00112233445566778899aabbccddeeff")
        try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").insert(
            OutgoingRecord(bundleID: id, partner: TestID.ods("YOI123"), createdAt: g.clock.now(), expiresAt: g.clock.now() + 86_400_000),
            files: [OutgoingFile(bundleID: id, position: 0, name: "late.xml", size: 23, sourcePath: source, workPath: work(g, id, "late.xml"))])
        try await g.practice.recover()
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .failed)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
    }

    @Test func aFileStillOpenForWritingIsNotClaimed() async throws {
        let g = try TwoGateways()
        let path = try outbox(g) + "/summary.xml"
        // A writer that pauses mid-record, for as long as it likes.
        let writer = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        _ = head.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        let early = await g.practice.claim(partner: "YOI123", path: path, name: "summary.xml")
        if case .claimed = early { Issue.record("claimed half a record") }
        #expect(g.read(path) == head)
        _ = tail.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        close(writer)
        guard case .claimed(let id) = await g.practice.claim(partner: "YOI123", path: path, name: "summary.xml") else {
            Issue.record("not claimed once closed"); return
        }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/summary.xml") == head + tail)
    }

    @Test func aFileThatGrewAfterItsClaimIsClaimedAgainAndSentWhole() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("summary.xml", head) else { Issue.record("not claimed"); return }
        // A writer whose descriptor outlived the claim (where the kernel could not tell) finishes.
        append(tail, to: work(g, id, "summary.xml"))
        _ = await g.practice.processOutgoing()
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        #expect(try g.state(id) == .queued)
        #expect(try journal.outgoing(id)?.lastError?.contains("changed after it was claimed") == true)
        #expect(try journal.files(of: id).map(\.size) == [Int64(head.count + tail.count)])
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        g.clock.advance(by: 2000)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/summary.xml") == head + tail)
    }

    @Test func aFileChangedWhileItIsSealedIsDiscardedAndSealedAgain() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("summary.xml", head) else { Issue.record("not claimed"); return }
        let path = work(g, id, "summary.xml")
        let rest = tail
        await GatewayEngine.$afterSealing.withValue({ _ in
            let fd = open(path, O_WRONLY | O_APPEND)
            _ = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }) {
            _ = await g.practice.processOutgoing()
        }
        #expect(try g.state(id) == .queued)
        #expect(g.list(g.practiceHome.path + "/spool/work/out") == [id.hex], "the sealed bundle is discarded")
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        #expect(try journal.outgoing(id)?.lastError?.contains("changed while it was being sealed") == true)
        g.clock.advance(by: 2000)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/summary.xml") == head + tail)
        #expect(try journal.transitions(of: id).contains { $0.detail?.hasPrefix("claimed again") == true })
    }
}
