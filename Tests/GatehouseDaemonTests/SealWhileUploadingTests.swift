import Foundation
import Glibc
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Synchronization
import Testing

/// A directory mailbox that takes bundles while they are sealed, as the SFTP transport does, and
/// records what it saw: the sender's journal and local file when the publish was allowed.
final class StreamingRecorder: MailboxTransport {
    struct Seen: Sendable {
        /// The bundle's journalled state (and whether its local file was complete) at the release.
        var stateAtRelease: [OutgoingState?] = []
        var localFileCompleteAtRelease: [Bool] = []
        var withdrawn = 0
        var streamed = 0
    }

    let inner: DirectoryTransport
    let journal: String
    /// Streamed uploads that fail (after following the whole file) before one succeeds.
    let failures: Mutex<Int>
    let seen = Mutex(Seen())

    init(root: String, journal: String, failures: Int = 0) {
        inner = DirectoryTransport(root: root)
        self.journal = journal
        self.failures = Mutex(failures)
    }

    var deliversWhileSealing: Bool { true }

    func deliver(growing: GrowingFile, to org: ODSCode, as name: String) async throws {
        seen.withLock { $0.streamed += 1 }
        var progress = growing.progress
        while progress.publish == nil {
            progress = await growing.next(after: progress)
        }
        guard progress.publish == true, let paths = progress.paths else {
            seen.withLock { $0.withdrawn += 1 }
            throw KitError.io("withdrawn: \(progress.failure ?? "?")")
        }
        let id = try BundleID(hex: String(name.prefix(32)))
        let state = try SQLiteJournal(path: journal).outgoing(id)?.state
        var info = stat()
        let complete = stat(paths.final, &info) == 0 && UInt64(info.st_size) == progress.length
        seen.withLock {
            $0.stateAtRelease.append(state)
            $0.localFileCompleteAtRelease.append(complete)
        }
        if failures.withLock({ (left: inout Int) -> Bool in
            defer { left = max(0, left - 1) }
            return left > 0
        }) {
            throw KitError.io("the relay went away (test)")
        }
        try await inner.deliver(paths.final, to: org, as: name)
    }

    func deliver(_ path: String, to org: ODSCode, as name: String) async throws { try await inner.deliver(path, to: org, as: name) }
    func list(_ org: ODSCode) async throws -> [String] { try await inner.list(org) }
    func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64) async throws {
        try await inner.fetch(name, from: org, to: path, maxBytes: maxBytes)
    }
    func remove(_ name: String, from org: ODSCode) async throws { try await inner.remove(name, from: org) }
}

@Suite("Seal while uploading: the daemon's order of seal, sync, journal and publish")
struct SealWhileUploadingTests {
    /// Two gateways whose mailboxes all go through one ``StreamingRecorder`` (made at first use).
    final class Recorders: Sendable {
        let made = Mutex<StreamingRecorder?>(nil)
        var recorder: StreamingRecorder { made.withLock { $0! } }
    }

    func gateways(failures: Int = 0) throws -> (TwoGateways, Recorders) {
        let recorders = Recorders()
        let g = try TwoGateways(transport: { root in
            recorders.made.withLock { made in
                if let made { return made }
                // The practice's journal, beside the mailbox folder (TwoGateways' layout).
                let new = StreamingRecorder(root: root, journal: root + "/../practice/journal.sqlite", failures: failures)
                made = new
                return new
            }
        })
        return (g, recorders)
    }

    /// Incompressible bytes, quickly (megabytes of them).
    func randomBytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialised in
            if count > 0 { arc4random_buf(buffer.baseAddress!, count) }
            initialised = count
        }
    }

    @Test func theUploadFollowsTheSealAndIsPublishedOnlyOnceSyncedAndJournalled() async throws {
        let (g, recorder) = try gateways()
        let bytes = randomBytes(3 << 20)
        guard case .claimed(let id) = try await g.drop("scan.bin", bytes) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        let seen = recorder.recorder.seen.withLock { $0 }
        // (That the bytes go out before the end is shown where the test drives the producer:
        // SFTPGrowingUploadTests. Here the seal may finish before the upload task first looks.)
        #expect(seen.streamed == 1)
        #expect(seen.stateAtRelease == [.sealed], "published before the journal said sealed")
        #expect(seen.localFileCompleteAtRelease == [true])
        // The bytes in the mailbox are the bundle the journal names.
        let record = try #require(try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").outgoing(id))
        let delivered = try #require(g.read(g.mailboxRoot + "/YOI123/\(id).ghb"))
        #expect(SHA256Hasher.hash(delivered).hex == record.bundleSHA256)
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.bin") == bytes)
    }

    /// An original changed while it was read: the bundle is discarded, so the upload that
    /// followed it is withdrawn, never published; sealed again later, it arrives once.
    @Test func aBundleDiscardedAfterSealingWithdrawsItsUpload() async throws {
        let (g, recorder) = try gateways()
        let head = randomBytes(2 << 20)
        let tail = randomBytes(1000)
        guard case .claimed(let id) = try await g.drop("scan.bin", head) else { Issue.record("not claimed"); return }
        let path = g.practiceHome.path + "/spool/work/out/\(id)/scan.bin"
        await GatewayEngine.$afterSealing.withValue({ _ in
            let fd = open(path, O_WRONLY | O_APPEND)
            _ = tail.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }) {
            _ = await g.practice.processOutgoing()
        }
        #expect(try g.state(id) == .queued)
        #expect(recorder.recorder.seen.withLock { $0.withdrawn } == 1)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        g.clock.advance(by: 2000)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(recorder.recorder.seen.withLock { $0.stateAtRelease } == [.sealed])
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.bin") == head + tail)
    }

    /// The streamed upload fails (the relay went away): the bundle stays sealed and is delivered
    /// from its local file at the next attempt, as any failed delivery is.
    @Test func aFailedStreamedUploadIsRetriedFromTheSealedFile() async throws {
        let (g, recorder) = try gateways(failures: 1)
        let bytes = randomBytes(1 << 20)
        guard case .claimed(let id) = try await g.drop("scan.bin", bytes) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .sealed)
        let record = try #require(try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").outgoing(id))
        #expect(record.lastError?.contains("the relay went away") == true, "\(record.lastError ?? "")")
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        g.clock.advance(by: 120_000)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(recorder.recorder.seen.withLock { $0.streamed } == 1, "a sealed bundle is delivered from its file, not sealed again")
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.bin") == bytes)
    }
}
