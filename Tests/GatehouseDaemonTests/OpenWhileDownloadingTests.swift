import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Synchronization
import Testing

/// A directory mailbox that forwards to a ``DirectoryTransport``, and sees what the receiving
/// gateway has staged in its spool (private `.tmp-…` folders), for transports that play a relay.
class ForwardingTransport: MailboxTransport, @unchecked Sendable {
    let inner: DirectoryTransport
    let root: String
    /// The receiver's spool.
    let spool: String

    required init(root: String, spool: String) {
        inner = DirectoryTransport(root: root)
        self.root = root
        self.spool = spool
    }

    func deliver(_ path: String, to org: ODSCode, as name: String) async throws { try await inner.deliver(path, to: org, as: name) }
    func list(_ org: ODSCode) async throws -> [String] { try await inner.list(org) }
    func remove(_ name: String, from org: ODSCode) async throws { try await inner.remove(name, from: org) }
    func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64) async throws {
        try await inner.fetch(name, from: org, to: path, maxBytes: maxBytes)
    }

    // Declared here so that subclasses can override them (a protocol's default would be used).
    var fetchesProgressively: Bool { false }
    var followsUploads: Bool { false }

    func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64, progress: GrowingFile) async throws {
        try await inner.fetch(name, from: org, to: path, maxBytes: maxBytes, progress: progress)
    }

    func uploadsInProgress(_ org: ODSCode) async throws -> [ArrivingUpload] { [] }

    func follow(_ name: String, in org: ODSCode, maxBytes: UInt64,
                consume: (ArraySlice<UInt8>) async throws -> Void) async throws -> FollowedUpload {
        throw FollowFailure.unsupported(name)
    }

    /// True when a staging folder holds a file with bytes in it.
    func stagedBytes() -> Bool { stagedFiles().contains { $0.size > 0 } }

    /// Every file in a staging folder, with its size.
    func stagedFiles() -> [(path: String, size: Int)] {
        guard let walk = FileManager.default.enumerator(atPath: spool) else { return [] }
        return walk.compactMap { item in
            let relative = item as! String
            guard relative.split(separator: "/").dropLast().contains(where: { $0.hasPrefix(".tmp-") }) else { return nil }
            let path = "\(spool)/\(relative)"
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular else { return nil }
            return (path, (attributes[.size] as? Int) ?? 0)
        }
    }

    /// Two gateways whose one transport is a new `T` watching the prison's spool, and that transport.
    static func gateways<T: ForwardingTransport>(of type: T.Type, settings: DaemonSettings = DaemonSettings()) throws
        -> (TwoGateways, T) {
        let made = Mutex<T?>(nil)
        let factory: @Sendable (String) -> any MailboxTransport = { root in
            made.withLock { existing in
                if let existing { return existing }
                let transport = T(root: root, spool: DurableFile.split(root).folder + "/prison/spool")
                existing = transport
                return transport
            }
        }
        let gateways = try TwoGateways(settings: settings, transport: factory)
        _ = factory(gateways.mailboxRoot)
        return (gateways, try #require(made.withLock { $0 }))
    }

    /// Waits (up to 10 s) until the receiver has staged bytes; says whether it had.
    func waitForStagedBytes() async throws -> Bool {
        for _ in 0..<1000 where !stagedBytes() { try await Task.sleep(for: .milliseconds(10)) }
        return stagedBytes()
    }
}

/// A directory mailbox whose fetch trickles: it writes the first half of the copy, reports it,
/// and waits until the receiving gateway has staged decrypted bytes from it (proof that the
/// bundle is opened while it downloads) before writing the rest; or it cuts the download there.
final class TricklingTransport: ForwardingTransport, @unchecked Sendable {
    /// Cut the next fetches half-way (as a relay or connection that dies would).
    let cuts = Mutex(0)
    /// Whether the receiver had staged bytes before the second half was written.
    let overlapped = Mutex<Bool?>(nil)

    override var fetchesProgressively: Bool { true }

    struct Cut: Error {}

    override func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64, progress: GrowingFile) async throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(org.value)/\(name)")))
        let temporary = DurableFile.split(path).folder + "/.trickle-" + DurableFile.split(path).name
        FileManager.default.createFile(atPath: temporary, contents: Data(bytes.prefix(bytes.count / 2)))
        progress.begin(temporary: temporary, final: path)
        progress.advance(to: UInt64(bytes.count / 2))
        if cuts.withLock({ (left: inout Int) in defer { left -= 1 }; return left > 0 }) {
            unlink(temporary)
            progress.fail("the connection was cut")
            throw Cut()
        }
        let staged = try await waitForStagedBytes()
        overlapped.withLock { $0 = staged }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes.dropFirst(bytes.count / 2)))
        try handle.close()
        rename(temporary, path)
        progress.finish(length: UInt64(bytes.count))
    }
}

@Suite("Opening a bundle while it downloads")
struct OpenWhileDownloadingTests {
    static func gateways() throws -> (TwoGateways, TricklingTransport) { try ForwardingTransport.gateways(of: TricklingTransport.self) }

    @Test func aBundleIsStagedBeforeItsLastByteArrivesAndPublishedOnce() async throws {
        let (g, transport) = try Self.gateways()
        let record = pseudoRandom(4 << 20)
        guard case .claimed(let id) = try await g.drop("scan.pdf", record) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        #expect(transport.overlapped.withLock { $0 } == true, "nothing was staged before the download ended")
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.pdf") == record)
        #expect(g.list(g.mailboxRoot + "/A81001") == ["\(id).YOI123.ghr"])
        #expect(transport.stagedFiles().isEmpty)
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .acknowledged)
    }

    /// The insider's case: a download that dies half-way, while its first half is being opened,
    /// is never judged (no refusal, no receipt, nothing published or quarantined); the bundle
    /// stays in the mailbox and the next round opens it whole.
    @Test func aDownloadCutHalfWayIsNeverJudgedAndIsFetchedAgain() async throws {
        let (g, transport) = try Self.gateways()
        let record = pseudoRandom(4 << 20)
        guard case .claimed(let id) = try await g.drop("scan.pdf", record) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        transport.cuts.withLock { $0 = 1 }
        #expect(await g.prison.collect() == 0)
        #expect(try g.incoming(id) == nil)
        #expect(g.list(g.mailboxRoot + "/YOI123") == ["\(id).ghb"])
        #expect(g.list(g.mailboxRoot + "/A81001").isEmpty)
        #expect(g.prisonQuarantine.isEmpty)
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001").isEmpty)
        #expect(transport.stagedFiles().isEmpty)
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/scan.pdf") == record)
        #expect(try g.incoming(id)?.state == .published)
    }

    /// A bundle whose contents decrypt but whose outer signature does not verify (any relay user
    /// can make one) is refused as forged, after its staged bytes are thrown away.
    @Test func aForgedBundleIsRefusedAndItsStagedBytesAreGone() async throws {
        let (g, transport) = try Self.gateways()
        guard case .claimed(let id) = try await g.drop("scan.pdf", pseudoRandom(4 << 20)) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        let path = g.mailboxRoot + "/YOI123/\(id).ghb"
        var bytes = try #require(g.read(path))
        bytes[bytes.count - 1] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(await g.prison.collect() == 1)
        #expect(transport.overlapped.withLock { $0 } == true)
        #expect(try g.incoming(id)?.reason?.hasPrefix("authentication-failed") == true)
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001").isEmpty)
        #expect(g.prisonQuarantine == [id.hex])
        #expect(transport.stagedFiles().isEmpty)
    }

    func pseudoRandom(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }
}
