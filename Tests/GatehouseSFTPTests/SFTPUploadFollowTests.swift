import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import GatehouseSFTPClient
import GatehouseTesting
import Glibc
import Synchronization
import Testing

/// Issue 18: A81001's gateway reads YOI123's upload into its mailbox while it is being written,
/// through a real OpenSSH `sshd` running `gatehouse sftp-server` for each organisation, and ends
/// only when the relay says YOI123 published that very file.
@Suite("following an upload in progress through OpenSSH", .timeLimit(.minutes(2)))
struct SFTPUploadFollowTests {
    let folder: TemporaryDirectory
    let mailboxes: String
    let server: SSHServer
    let keys: [String: String]

    init() throws {
        folder = try TemporaryDirectory(prefix: "gatehouse-follow")
        mailboxes = folder.appending("mailboxes")
        var keys: [String: String] = [:]
        var lines: [String] = []
        for org in ["A81001", "YOI123", "B82002"] {
            try FileManager.default.createDirectory(atPath: "\(mailboxes)/\(org)", withIntermediateDirectories: true)
            let key = try SSHServer.makeClientKey(in: folder, name: "id_\(org)")
            keys[org] = key.file
            lines.append(
                "command=\"\(try GatehouseProcess.binaryPath()) sftp-server --org \(org) --root \(mailboxes)\",restrict "
                    + key.publicLine
            )
        }
        self.keys = keys
        server = try SSHServer(authorizedKeys: lines)
    }

    func client(_ org: String) async throws -> SFTPClient {
        try await SFTPClient.connect(executable: "/usr/bin/ssh", arguments: try server.sftpArguments(key: keys[org]!))
    }

    /// Incompressible bytes.
    func randomBytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialised in
            if count > 0 { arc4random_buf(buffer.baseAddress!, count) }
            initialised = count
        }
    }

    /// Waits (up to 30 s) until `condition` holds; false if it never does.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<6000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    /// How many descriptors of this machine's processes (the relay's sessions) have `path` open.
    func openCount(_ path: String) -> Int {
        var count = 0
        for process in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(process) != nil {
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process)/fd")) ?? [] {
                if (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process)/fd/\(fd)")) == path {
                    count += 1
                }
            }
        }
        return count
    }

    /// What a follower has been handed so far.
    final class Received: Sendable {
        let bytes = Mutex<[UInt8]>([])
        var count: Int { bytes.withLock { $0.count } }
    }

    /// A81001 following `path` into a ``Received``.
    func following(_ owner: SFTPClient, _ path: String = "/A81001/.x.part", maxBytes: UInt64 = .max)
        -> (Received, Task<FollowedUpload, any Error>)
    {
        let received = Received()
        let task = Task {
            try await owner.follow(path, maxBytes: maxBytes) { bytes in received.bytes.withLock { $0 += bytes } }
        }
        return (received, task)
    }

    /// YOI123 uploading `bytes` under /A81001/.x.part, and a session of A81001 (the mailbox's
    /// owner) to follow it; the caller closes the owner's connection.
    func uploading(_ bytes: ArraySlice<UInt8>) async throws -> (sender: Upload, owner: SFTPClient) {
        let sender = try await Upload(client(), "/A81001/.x.part")
        let owner = try await client("A81001")
        try await sender.write(bytes)
        return (sender, owner)
    }

    /// The follower's failure, if it was one of ``FollowFailure``.
    func failure(_ task: Task<FollowedUpload, any Error>) async -> FollowFailure? {
        do {
            _ = try await task.value
            return nil
        } catch SFTPClientError.notFollowed(let failure) {
            return failure
        } catch {
            Issue.record("the follower failed otherwise: \(error)")
            return nil
        }
    }

    @Test func theOwnerFollowsAnUploadAsItGrowsAndEndsAtThePublish() async throws {
        let sender = try await Upload(client(), "/A81001/.x.part")
        let owner = try await client("A81001")
        defer { owner.connection.close() }
        #expect(owner.followsUploads)
        let bytes = randomBytes(1 << 20 + 4321)
        try await sender.write(bytes[..<(256 << 10)])
        #expect(try await owner.waitForMail("/A81001", upTo: .seconds(20), uploads: true))
        #expect(
            try await owner.uploads(in: "/A81001") == [
                SFTPMailboxUpload(name: ".x.part", uploader: "YOI123", size: 256 << 10)
            ])
        let (received, follower) = following(owner)
        // The first bytes are read before the rest is even written.
        #expect(await eventually { received.count >= 256 << 10 })
        try await sender.write(bytes[(256 << 10)...], at: 256 << 10)
        try await sender.close()
        let name = MailboxName.bundle(.random())
        try await sender.publish(as: "/A81001/\(name)")
        #expect(try await follower.value == FollowedUpload(name: name, size: UInt64(bytes.count)))
        #expect(received.bytes.withLock { $0 } == bytes)
    }

    /// Gatehouse's own uploader, pipelined: its WRITEs reach the relay in the order of their
    /// offsets. (Sent from tasks of their own, they went out in any order, and every upload was
    /// marked rewritten: no follower could use one.)
    @Test func ourUploaderWritesInOrderSoItsUploadsCanBeFollowed() async throws {
        let sender = try await client()
        defer { sender.connection.close() }
        let owner = try await client("A81001")
        defer { owner.connection.close() }
        let bytes = randomBytes(64 << 20)
        let local = folder.appending("bundle")
        try Data(bytes).write(to: URL(fileURLWithPath: local))
        let upload = Task { try await sender.upload(local, to: "/A81001", as: "big.ghb") }
        #expect(try await owner.waitForMail("/A81001", upTo: .seconds(20), uploads: true))
        let name = try #require(try await owner.uploads(in: "/A81001").first?.name)
        let received = Received()
        let followed = try await owner.follow("/A81001/\(name)") { piece in received.bytes.withLock { $0 += piece } }
        #expect(try await upload.value == UInt64(bytes.count))
        #expect(followed == FollowedUpload(name: "big.ghb", size: UInt64(bytes.count)))
        // Followed to the end: the relay never marked the upload rewritten.
        #expect(received.bytes.withLock { $0 } == bytes)
    }

    @Test func anUploadAbandonedMidWayEndsTheFollowerWithAbandoned() async throws {
        let (sender, owner) = try await uploading(randomBytes(100_000)[...])
        defer { owner.connection.close() }
        let (received, follower) = following(owner)
        #expect(await eventually { received.count == 100_000 })
        // The sender's connection is cut: the relay removes its unfinished upload.
        kill(sender.client.connection.processIdentifier, SIGKILL)
        #expect(await failure(follower) == .abandoned("/A81001/.x.part"))
    }

    @Test func anUploadReplacedUnderTheSameNameIsNeverPublishedForTheFollower() async throws {
        let first = try await Upload(client(), "/A81001/.x.part")
        let owner = try await client("A81001")
        defer { owner.connection.close() }
        try await first.write(randomBytes(100_000)[...])
        let (received, follower) = following(owner)
        #expect(await eventually { received.count == 100_000 })
        try await first.close()
        try await first.remove()
        // The same name again, other bytes, published: not the file the follower read.
        let second = try await Upload(first.client, "/A81001/.x.part")
        let other = randomBytes(150_000)
        try await second.write(other[...])
        try await second.close()
        let name = MailboxName.bundle(.random())
        try await second.publish(as: "/A81001/\(name)")
        #expect(await failure(follower) == .abandoned("/A81001/.x.part"))
        #expect(Array(FileManager.default.contents(atPath: "\(mailboxes)/A81001/\(name)") ?? Data()) == other)
    }

    @Test func anUploadCutShortOnTheRelayIsReadExactlyToItsPublishedSize() async throws {
        let bytes = randomBytes(4 << 20)
        let (sender, owner) = try await uploading(bytes[...])
        defer { owner.connection.close() }
        // The follower takes its first piece and holds on (its first READs ask for 1 MiB at most).
        let received = Received()
        let gate = Mutex(false)
        let follower = Task {
            try await owner.follow("/A81001/.x.part") { piece in
                received.bytes.withLock { $0 += piece }
                while !gate.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(1)) }
            }
        }
        #expect(await eventually { received.count > 0 })
        // Cut short on the relay's disk (no SFTP request can shrink an upload) past what the
        // follower asked for, then published.
        let short = 2 << 20 + 12_345
        #expect(truncate("\(mailboxes)/A81001/.x.part", off_t(short)) == 0)
        try await sender.close()
        try await sender.publish(as: "/A81001/short.ghb")
        gate.withLock { $0 = true }
        #expect(try await follower.value == FollowedUpload(name: "short.ghb", size: UInt64(short)))
        #expect(received.bytes.withLock { $0 } == Array(bytes[..<short]))
    }

    @Test func theFollowerWritesANewLocalFileOnlyWhenPublished() async throws {
        let bytes = randomBytes(300_000)
        let (sender, owner) = try await uploading(bytes[..<100_000])
        defer { owner.connection.close() }
        let local = folder.appending("followed")
        let follower = Task { try await owner.follow("/A81001/.x.part", to: local) }
        // The relay holds the upload open twice: for its sender, and now for the follower.
        #expect(await eventually { openCount("\(mailboxes)/A81001/.x.part") == 2 })
        try await sender.write(bytes[100_000...], at: 100_000)
        #expect(!FileManager.default.fileExists(atPath: local))
        try await sender.close()
        try await sender.publish(as: "/A81001/whole.ghb")
        #expect(try await follower.value == FollowedUpload(name: "whole.ghb", size: 300_000))
        #expect(Array(FileManager.default.contents(atPath: local) ?? Data()) == bytes)
    }

    @Test func aFollowerOfACrawlingUploadStopsWhenCancelled() async throws {
        // An insider's upload that grows a little, often, never pauses the follower: the
        // gateway's idle and time limits cancel it, and the cancellation must end it.
        let (sender, owner) = try await uploading(randomBytes(10_000)[...])
        defer { owner.connection.close() }
        let (received, follower) = following(owner)
        nonisolated(unsafe) let crawler = sender
        let crawl = Task {
            var at: UInt64 = 10_000
            while !Task.isCancelled {
                try await crawler.write(Array(repeating: 7, count: 1_000)[...], at: at)
                at += 1_000
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        defer { crawl.cancel() }
        #expect(await eventually { received.count > 20_000 })
        follower.cancel()
        let ended = Mutex(false)
        Task {
            _ = await follower.result
            ended.withLock { $0 = true }
        }
        #expect(await eventually { ended.withLock { $0 } }, "the follow went on after it was cancelled")
    }

    @Test func anUploadCutShortBelowWhatWasReadIsRefused() async throws {
        let (sender, owner) = try await uploading(randomBytes(200_000)[...])
        defer { owner.connection.close() }
        let (received, follower) = following(owner)
        #expect(await eventually { received.count == 200_000 })
        #expect(truncate("\(mailboxes)/A81001/.x.part", 50_000) == 0)
        try await sender.close()
        try await sender.publish(as: "/A81001/short.ghb")
        #expect(await failure(follower) == .shrank("/A81001/.x.part", read: 200_000, size: 50_000))
    }

    @Test func anUploadRewrittenAfterItWasReadIsNeverTakenForTheBundle() async throws {
        let (sender, owner) = try await uploading(randomBytes(100_000)[...])
        defer { owner.connection.close() }
        let (received, follower) = following(owner)
        #expect(await eventually { received.count == 100_000 })
        try await sender.write(Array("other first bytes".utf8)[...], at: 0)
        try await sender.close()
        try await sender.publish(as: "/A81001/rewritten.ghb")
        #expect(await failure(follower) == .rewritten("/A81001/.x.part"))
    }

    @Test func theFollowerReadsNoMoreThanTheCallersLimit() async throws {
        let (sender, owner) = try await uploading(randomBytes(200_000)[...])
        defer { owner.connection.close() }
        let local = folder.appending("limited")
        await #expect(throws: MailboxItemTooLarge.self) {
            try await owner.follow("/A81001/.x.part", to: local, maxBytes: 100_000)
        }
        #expect(!FileManager.default.fileExists(atPath: local))
    }

    @Test func aSecondSenderCanNeitherListNorOpenNorFollowTheUpload() async throws {
        let sender = try await Upload(client(), "/A81001/.x.part")
        try await sender.write(randomBytes(10_000)[...])
        let insider = try await client("B82002")
        defer { insider.connection.close() }
        func refused(_ what: String, _ body: () async throws -> Void) async {
            do {
                try await body()
                Issue.record("\(what) was allowed")
            } catch SFTPClientError.status(.permissionDenied?, let message, _) {
                #expect(
                    message == "refused: in another organisation's mailbox a session may only create new files under "
                        + "a temporary dot-name, write and sync them, and publish them once closed under a new name "
                        + "it may use; it can never look at, remove or replace anything there", "\(what)")
            } catch {
                Issue.record("\(what): \(error)")
            }
        }
        await refused("list") { _ = try await insider.uploads(in: "/A81001") }
        await refused("open") { _ = try await insider.openUpload("/A81001/.x.part") }
        await refused("follow") { try await insider.follow("/A81001/.x.part") { _ in } }
        await refused("wait") { _ = try await insider.waitForMail("/A81001", upTo: .zero, uploads: true) }
    }

    @Test func theOwnerCanReadButNeverChangeAnUploadInProgress() async throws {
        let bytes = randomBytes(10_000)
        let (sender, owner) = try await uploading(bytes[...])
        defer { owner.connection.close() }
        let handle = try await owner.openUpload("/A81001/.x.part")
        let attempts: [(String, (UInt32) -> SFTPMessage)] = [
            ("WRITE", { .write(id: $0, handle: handle, offset: 0, data: Array("forged".utf8)) }),
            ("fsync", { SFTPExtendedRequest.fsync(handle: handle).message(id: $0) }),
            ("FSETSTAT", { .fsetstat(id: $0, handle: handle, attributes: SFTPAttributes(size: 0)) }),
            ("REMOVE", { .remove(id: $0, path: "/A81001/.x.part") }),
            ("RENAME", { .rename(id: $0, from: "/A81001/.x.part", to: "/A81001/forged.ghb") }),
            ("SETSTAT", { .setstat(id: $0, path: "/A81001/.x.part", attributes: SFTPAttributes(size: 0)) }),
            (
                "publish",
                {
                    SFTPExtendedRequest.posixRename(from: "/A81001/.x.part", to: "/A81001/forged.ghb").message(id: $0)
                }
            ),
            (
                "OPEN (write)",
                {
                    .open(
                        id: $0, path: "/A81001/.x.part", flags: [.write, .create, .truncate],
                        attributes: SFTPAttributes())
                }
            ),
        ]
        for (what, make) in attempts {
            let reply = try await owner.connection.request(make)
            guard case .status(_, let code, _, _) = reply, code != SFTP.StatusCode.ok.rawValue else {
                Issue.record("\(what) was allowed: \(reply)")
                continue
            }
        }
        #expect(Array(FileManager.default.contents(atPath: "\(mailboxes)/A81001/.x.part") ?? Data()) == bytes)
        // The sender still finishes and publishes it, and the owner's handle sees that very file published.
        try await sender.close()
        try await sender.publish(as: "/A81001/mine.ghb")
        #expect(
            try await owner.uploadState(handle, path: "/A81001/.x.part")
                == SFTPUploadState(.published(name: "mine.ghb"), size: 10_000))
    }

    @Test func aWaitWithoutFlagsIgnoresUploadsInProgressAsBefore() async throws {
        let (sender, owner) = try await uploading(randomBytes(10_000)[...])
        defer { owner.connection.close() }
        #expect(try await owner.waitForMail("/A81001", upTo: .milliseconds(200)) == false)
        try await sender.close()
        try await sender.publish(as: "/A81001/in.ghb")
        #expect(try await owner.waitForMail("/A81001", upTo: .seconds(20)))
    }
}

extension SFTPUploadFollowTests {
    /// The gateway's side: the sftp:// transport follows, and says FollowFailure when it cannot.
    @Test func theTransportFollowsUploadsAndOthersSayTheyCannot() async throws {
        let ssh = SSHInvocation(
            identityFile: keys["A81001"]!, knownHostsFile: folder.appending("known_hosts"),
            hostKeyAlias: "gatehouse-mailbox-A81001")
        let transport = SFTPTransport(address: try server.address(), ssh: ssh)
        defer { Task { await transport.close() } }
        let org = try ODSCode("A81001")
        let sender = try await Upload(client(), "/A81001/.x.part")
        let bytes = randomBytes(200_000)
        try await sender.write(bytes[..<100_000])
        await transport.waitForMail(org, upTo: .seconds(20), uploads: true)
        #expect(
            try await transport.uploadsInProgress(org) == [
                ArrivingUpload(name: ".x.part", uploader: try ODSCode("YOI123"), size: 100_000)
            ])
        let received = Received()
        let follower = Task {
            try await transport.follow(".x.part", in: org, maxBytes: .max) { piece in
                received.bytes.withLock { $0 += piece }
            }
        }
        #expect(await eventually { received.count == 100_000 })
        try await sender.write(bytes[100_000...], at: 100_000)
        try await sender.close()
        try await sender.publish(as: "/A81001/done.ghb")
        #expect(try await follower.value == FollowedUpload(name: "done.ghb", size: 200_000))
        #expect(received.bytes.withLock { $0 } == bytes)

        // Abandoned: the transport's own error, not the SFTP client's.
        let second = try await Upload(sender.client, "/A81001/.y.part")
        try await second.write(bytes[..<1000])
        let opened = Received()
        let abandoned = Task {
            try await transport.follow(".y.part", in: org, maxBytes: .max) { piece in
                opened.bytes.withLock { $0 += piece }
            }
        }
        #expect(await eventually { opened.count == 1000 })
        try await second.close()
        try await second.remove()
        do {
            _ = try await abandoned.value
            Issue.record("an abandoned upload was followed to its end")
        } catch {
            #expect(error as? FollowFailure == .abandoned("/A81001/.y.part"), "\(error)")
        }

        // A dir: mailbox cannot tell of uploads in progress.
        let directory = DirectoryTransport(root: mailboxes)
        #expect(!directory.followsUploads)
        do {
            _ = try await directory.uploadsInProgress(org)
            Issue.record("a dir: mailbox listed uploads in progress")
        } catch {
            #expect(error as? FollowFailure == .unsupported("A81001's mailbox"), "\(error)")
        }
    }
}

/// An upload driven request by request, as a sender's relay session sees it.
struct Upload {
    let client: SFTPClient
    let path: String
    let handle: [UInt8]

    init(_ client: SFTPClient, _ path: String) async throws {
        self.client = client
        self.path = path
        let reply = try await client.connection.request {
            .open(id: $0, path: path, flags: [.write, .create, .exclusive], attributes: SFTPAttributes())
        }
        guard case .handle(_, let handle) = reply else { throw SFTPClientError.protocolError("\(reply)") }
        self.handle = handle
    }

    func write(_ bytes: ArraySlice<UInt8>, at offset: UInt64 = 0) async throws {
        var done = 0
        while done < bytes.count {
            let piece = Array(bytes.dropFirst(done).prefix(64 << 10))
            let at = offset + UInt64(done)
            try ok(await client.connection.request { .write(id: $0, handle: handle, offset: at, data: piece) })
            done += piece.count
        }
    }

    func close() async throws { try ok(await client.connection.request { .close(id: $0, handle: handle) }) }

    func remove() async throws { try ok(await client.connection.request { .remove(id: $0, path: path) }) }

    func publish(as final: String) async throws {
        try ok(
            await client.connection.request { SFTPExtendedRequest.posixRename(from: path, to: final).message(id: $0) })
    }

    private func ok(_ reply: SFTPMessage) throws {
        guard case .status(_, 0, _, _) = reply else { throw SFTPClientError.protocolError("\(path): \(reply)") }
    }
}

extension SFTPUploadFollowTests {
    /// YOI123's client.
    func client() async throws -> SFTPClient { try await client("YOI123") }
}
