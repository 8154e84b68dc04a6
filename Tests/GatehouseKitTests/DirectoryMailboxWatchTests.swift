import Foundation
import GatehouseFormat
@testable import GatehouseKit
import GatehouseTesting
import Testing

/// A `dir:` mailbox is watched with inotify: new mail ends a wait at once, nothing else does.
@Suite("dir: mailboxes wait on inotify")
struct DirectoryMailboxWatchTests {
    let org = try! ODSCode("YOI123")

    /// A wait as long as a test may take: only new mail (or a bug) ends it before then.
    static let long = Duration.seconds(120)

    func mailbox() throws -> (TemporaryDirectory, DirectoryTransport, DirectoryMailboxWatch) {
        let root = try TemporaryDirectory()
        return (root, DirectoryTransport(root: root.path), DirectoryMailboxWatch(watching: .auto))
    }

    func write(_ path: String) throws { try Data("ciphertext".utf8).write(to: URL(fileURLWithPath: path)) }

    @Test func aDeliveredBundleEndsTheWait() async throws {
        let (root, transport, watch) = try mailbox()
        let folder = transport.folder(of: org)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        watch.listed([], in: folder)
        let waiting = Task { await watch.wait(for: folder, in: root.path, upTo: Self.long) }
        let source = root.appending("bundle")
        try write(source)
        try await transport.deliver(source, to: org, as: MailboxName.bundle(.random()))
        #expect(await waiting.value == .newMail)
    }

    /// Before any delivery the folder does not exist: its creation with mail in it is news.
    @Test func aMailboxCreatedByTheFirstDeliveryEndsTheWait() async throws {
        let (root, transport, watch) = try mailbox()
        let waiting = Task { await watch.wait(for: transport.folder(of: org), in: root.path, upTo: Self.long) }
        let source = root.appending("bundle")
        try write(source)
        try await transport.deliver(source, to: org, as: MailboxName.bundle(.random()))
        #expect(await waiting.value == .newMail)
    }

    /// The insider's test: a partner writing transfers in progress (dot-names) or leaving a file
    /// the collector already listed must not wake it again and again.
    @Test func partialTransfersAndListedNamesDoNotEndTheWait() async throws {
        let (root, transport, watch) = try mailbox()
        let folder = transport.folder(of: org)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try write(folder + "/left-over.ghb")
        // A watch that never saw a listing of the folder takes left-over.ghb for new mail…
        #expect(await watch.wait(for: folder, in: root.path, upTo: Self.long) == .newMail)
        // …one that did is not woken by it, nor by twenty uploads in progress.
        #expect(try await transport.list(org) == ["left-over.ghb"])
        watch.listed(["left-over.ghb"], in: folder)
        let waiting = Task { await watch.wait(for: folder, in: root.path, upTo: .milliseconds(300)) }
        for i in 0..<20 { try write(folder + "/.upload-\(i)") }
        #expect(await waiting.value == .timedOut)
    }

    @Test func aCancelledWaitEnds() async throws {
        let (root, transport, watch) = try mailbox()
        let folder = transport.folder(of: org)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        watch.listed([], in: folder)
        let waiting = Task { await watch.wait(for: folder, in: root.path, upTo: Self.long) }
        waiting.cancel()
        #expect(await waiting.value == .cancelled)
    }

    /// `collector.watch = "poll"` (or a network file system) sleeps out the interval instead.
    @Test func pollingIgnoresEvents() async throws {
        let root = try TemporaryDirectory()
        let folder = root.appending("YOI123")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try write(folder + "/new.ghb")
        #expect(await DirectoryMailboxWatch(watching: .poll).wait(for: folder, in: root.path, upTo: .milliseconds(50)) == .polled)
        #expect(!DirectoryMailboxWatch.isNetworkFileSystem(root.path))
        #expect(DirectoryMailboxWatch.networkFileSystems.isSuperset(of: [0x6969, 0xFF53_4D42, 0x6573_5546]))
    }
}
