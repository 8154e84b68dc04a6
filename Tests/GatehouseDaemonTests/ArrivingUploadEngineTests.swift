import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Synchronization
import Testing

/// A directory mailbox that also tells of one upload in progress, held outside the mailbox until
/// the follower has read half of it and the receiver has staged decrypted bytes; then it is
/// "published" under `publishAs` (or abandoned half-way).
final class ArrivingTransport: ForwardingTransport, @unchecked Sendable {
    /// The upload in progress: its bytes (outside the mailbox), uploader and the final name it gets.
    let upload = Mutex<(path: String, uploader: ODSCode, publishAs: String?)?>(nil)
    /// Stall after the first half (a sender that goes quiet, or crawls) until cancelled.
    let stall = Mutex(false)
    /// Send the first half slowly, 16 KiB every 20 ms (an honest sender on a slow line).
    let trickle = Mutex(false)
    /// How many uploads in progress the listing shows (all of the same bytes).
    let listed = Mutex(1)
    let follows = Mutex(0)
    let overlapped = Mutex<Bool?>(nil)

    override var followsUploads: Bool { true }

    override func uploadsInProgress(_ org: ODSCode) async throws -> [ArrivingUpload] {
        guard let upload = upload.withLock({ $0 }) else { return [] }
        let size = UInt64((try? FileManager.default.attributesOfItem(atPath: upload.path)[.size] as? Int) ?? 0)
        return (1...listed.withLock { $0 }).map { ArrivingUpload(name: ".upload-\($0)", uploader: upload.uploader, size: size) }
    }

    override func follow(_ name: String, in org: ODSCode, maxBytes: UInt64,
                         consume: (ArraySlice<UInt8>) async throws -> Void) async throws -> FollowedUpload {
        follows.withLock { $0 += 1 }
        guard let upload = upload.withLock({ $0 }) else { throw FollowFailure.abandoned(name) }
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: upload.path)))
        let half = bytes.count / 2
        let piece = trickle.withLock { $0 } ? 16 << 10 : 1 << 20
        for start in stride(from: 0, to: half, by: piece) {
            try await consume(bytes[start..<min(half, start + piece)])
            if piece < 1 << 20 { try await Task.sleep(for: .milliseconds(20)) }
        }
        if stall.withLock({ $0 }) {
            while true { try await Task.sleep(for: .milliseconds(50)) }  // ends when cancelled
        }
        guard let publishAs = upload.publishAs else {
            self.upload.withLock { $0 = nil }
            throw FollowFailure.abandoned(name)
        }
        let staged = try await waitForStagedBytes()
        overlapped.withLock { $0 = staged }
        for start in stride(from: half, to: bytes.count, by: 1 << 20) { try await consume(bytes[start..<min(bytes.count, start + (1 << 20))]) }
        rename(upload.path, "\(root)/\(org.value)/\(publishAs)")
        self.upload.withLock { $0 = nil }
        return FollowedUpload(name: publishAs, size: UInt64(bytes.count))
    }
}

@Suite("Following an upload still in progress")
struct ArrivingUploadEngineTests {
    static func gateways(_ settings: DaemonSettings = DaemonSettings()) throws -> (TwoGateways, ArrivingTransport) {
        try ForwardingTransport.gateways(of: ArrivingTransport.self, settings: settings)
    }

    /// A bundle sealed by the practice, taken out of the prison's mailbox to play an upload in progress.
    static func uploading(_ g: TwoGateways, _ transport: ArrivingTransport, publishAs: ((BundleID) -> String?)? = nil,
                          uploader: String = "A81001") async throws -> (BundleID, [UInt8]) {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D  // incompressible, so blocks are staged as they come
        let record = (0..<(4 << 20)).map { _ -> UInt8 in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        guard case .claimed(let id) = try await g.drop("scan.pdf", record) else { throw KitError.io("not claimed") }
        _ = await g.practice.processOutgoing()
        let held = g.folder.appending("upload-1")
        rename(g.mailboxRoot + "/YOI123/\(id).ghb", held)
        let name = publishAs.map { $0(id) } ?? MailboxName.bundle(id)
        transport.upload.withLock { $0 = (held, try! ODSCode(uploader), name) }
        return (id, record)
    }

    @Test func aBundleIsOpenedWhileItsSenderUploadsItAndReceivedOnceItIsPublished() async throws {
        let (g, transport) = try Self.gateways()
        let (id, record) = try await Self.uploading(g, transport)
        #expect(await g.prison.collect() == 1)
        #expect(transport.overlapped.withLock { $0 } == true, "nothing was staged before the upload was published")
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.pdf") == record)
        #expect(try g.incoming(id)?.state == .published)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        #expect(g.list(g.mailboxRoot + "/A81001") == ["\(id).YOI123.ghr"])
        #expect(g.list(g.prisonHome.path + "/spool/work/in").isEmpty)
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .acknowledged)
    }

    /// Only the sender's publish under the bundle's own name makes it a bundle: published under
    /// another name, what was read is thrown away unjudged, and the published file is handled
    /// from the listing as any other item.
    @Test func anUploadPublishedUnderAnotherNameIsNotReceivedFromTheFollow() async throws {
        let (g, transport) = try Self.gateways()
        let (id, _) = try await Self.uploading(g, transport, publishAs: { _ in "not-a-bundle.txt" })
        _ = await g.prison.collect()
        #expect(try g.incoming(id) == nil)
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001").isEmpty)
        #expect(g.list(g.mailboxRoot + "/A81001").isEmpty)
        #expect(g.list(g.prisonHome.path + "/spool/work/in").isEmpty)
    }

    /// Abandoned half-way (its sender's session died): nothing is judged or kept, and the bundle
    /// the sender publishes later is collected from the listing.
    @Test func anAbandonedUploadLeavesNothingAndThePublishedBundleIsCollectedLater() async throws {
        let (g, transport) = try Self.gateways()
        let (id, record) = try await Self.uploading(g, transport, publishAs: { _ in nil })
        let held = g.folder.appending("upload-1")
        #expect(await g.prison.collect() == 0)
        #expect(try g.incoming(id) == nil)
        #expect(g.list(g.prisonHome.path + "/spool/work/in").isEmpty)
        #expect(g.list(g.mailboxRoot + "/A81001").isEmpty)
        rename(held, g.mailboxRoot + "/YOI123/\(id).ghb")
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.pdf") == record)
    }

    /// A partner's upload that goes quiet (or crawls) holds the collector no longer than the
    /// follow limit: nothing is judged, and the bundle is collected once published.
    @Test func aStalledUploadIsLetGoAndItsBundleCollectedOncePublished() async throws {
        var settings = DaemonSettings()
        settings.followLimit = .seconds(1)
        let (g, transport) = try Self.gateways(settings)
        transport.stall.withLock { $0 = true }
        let (id, record) = try await Self.uploading(g, transport)
        #expect(await g.prison.collect() == 0)
        #expect(try g.incoming(id) == nil)
        #expect(g.list(g.prisonHome.path + "/spool/work/in").isEmpty)
        #expect(transport.follows.withLock { $0 } == 1)
        rename(g.folder.appending("upload-1"), g.mailboxRoot + "/YOI123/\(id).ghb")
        #expect(await g.prison.collect() == 1)
        #expect(transport.follows.withLock { $0 } == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.pdf") == record)
    }

    /// An honest upload on a slow line moves by less than the copy's 1 MiB write buffer in the
    /// idle limit: it is still moving, and is not let go as idle.
    @Test func aSlowUploadThatKeepsMovingIsNotLetGoAsIdle() async throws {
        var settings = DaemonSettings()
        settings.followIdle = .milliseconds(500)
        let (g, transport) = try Self.gateways(settings)
        transport.trickle.withLock { $0 = true }
        let (id, record) = try await Self.uploading(g, transport)
        #expect(await g.prison.collect() == 1)
        #expect(transport.overlapped.withLock { $0 } == true, "let go before it was published")
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.pdf") == record)
    }

    /// The insider's flood: a partner starts many uploads and lets each crawl. The collector
    /// follows one a round, after the mail already listed, never all of them in a row.
    @Test func manyCrawlingUploadsCostOneFollowARound() async throws {
        var settings = DaemonSettings()
        settings.followLimit = .milliseconds(500)
        let (g, transport) = try Self.gateways(settings)
        transport.stall.withLock { $0 = true }
        transport.listed.withLock { $0 = 20 }
        _ = try await Self.uploading(g, transport)
        #expect(await g.prison.collect() == 0)
        #expect(transport.follows.withLock { $0 } == 1)
        #expect(await g.prison.collect() == 0)
        #expect(transport.follows.withLock { $0 } == 2)
    }

    /// An upload by an organisation that is not a partner here is never read.
    @Test func anUploadByAStrangerIsNeverFollowed() async throws {
        let (g, transport) = try Self.gateways()
        let (id, _) = try await Self.uploading(g, transport, uploader: "XHM01")
        #expect(await g.prison.collect() == 0)
        #expect(transport.follows.withLock { $0 } == 0)
        #expect(try g.incoming(id) == nil)
    }
}
