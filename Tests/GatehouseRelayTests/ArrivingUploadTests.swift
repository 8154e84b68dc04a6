import Foundation
import GatehouseFormat
import GatehouseSFTP
import Glibc
import Testing

@testable import GatehouseRelay

/// Issue 18: the owner of a mailbox learns of an upload arriving in it, reads it as it grows and
/// asks whether the file it reads was published; everyone else's view is unchanged. YOI123 and
/// B82002 send to A81001.
@Suite("uploads arriving in the own mailbox")
struct ArrivingUploadTests {
    let relay: RelayFixture
    /// The one refusal every request in another's mailbox gets, with request id 7.
    let refusal = SFTPMessage.status(
        id: 7, code: SFTP.StatusCode.permissionDenied.rawValue,
        message: MailboxPolicy.otherMailboxRefusal, language: ""
    ).encoded()

    init() throws { relay = try RelayFixture() }

    /// YOI123's upload in progress in A81001's mailbox, `bytes` written; its session and handle.
    func sending(_ bytes: [UInt8], as path: String = "/A81001/.b.part", by org: String = "YOI123") throws
        -> (MailboxSession, [UInt8])
    {
        let sender = try relay.session(org)
        let handle = try #require(sender.create(path).handle)
        if !bytes.isEmpty { #expect(sender.write(handle, bytes).isOK) }
        return (sender, handle)
    }

    func uploads(_ session: MailboxSession, _ path: String = "/A81001", id: UInt32? = nil) -> SFTPMessage {
        session.request(id: id) { SFTPExtendedRequest.mailboxUploads(path: path).message(id: $0) }
    }

    func listed(_ session: MailboxSession, _ path: String = "/A81001") throws -> [SFTPMailboxUpload] {
        let reply = uploads(session, path)
        guard case .extendedReply(_, let data) = reply else { throw Unexpected(reply) }
        return try SFTPMailboxUploads.decode(data)
    }

    func wait(_ session: MailboxSession, flags: SFTP.WaitFlags, timeout: UInt32 = 0) -> SFTPMessage {
        session.request {
            SFTPExtendedRequest.mailboxWait(path: "/A81001", timeoutMilliseconds: timeout, flags: flags).message(id: $0)
        }
    }

    func follow(_ owner: MailboxSession, _ path: String = "/A81001/.b.part") throws -> [UInt8] {
        let reply = owner.request { .open(id: $0, path: path, flags: .read, attributes: SFTPAttributes()) }
        guard case .handle(_, let handle) = reply else { throw Unexpected(reply) }
        return handle
    }

    func state(_ owner: MailboxSession, _ handle: [UInt8], whileSize: UInt64? = nil, timeout: UInt32 = 0) throws
        -> SFTPUploadState
    {
        let reply = owner.request {
            SFTPExtendedRequest.uploadState(handle: handle, whileSize: whileSize, timeoutMilliseconds: timeout)
                .message(id: $0)
        }
        guard case .extendedReply(_, let data) = reply else { throw Unexpected(reply) }
        return try SFTPUploadState.decode(data)
    }

    struct Unexpected: Error {
        var reply: SFTPMessage?
        init(_ reply: SFTPMessage? = nil) { self.reply = reply }
    }

    @Test func theOwnerListsTaggedUploadsInProgressOnly() throws {
        // The uploader names itself B82002 in the name: the tag says who it is.
        let (sender, _) = try sending(Array("half a bundle".utf8), as: "/A81001/.B82002.part")
        try relay.place("A81001/.placed.part", "no uploader tag")
        try relay.place("A81001/in.ghb", "published mail")
        #expect(mkfifo("\(relay.root)/A81001/.fifo.part", 0o600) == 0)
        try FileManager.default.createDirectory(
            atPath: "\(relay.root)/A81001/.folder", withIntermediateDirectories: false)
        let owner = try relay.session("A81001")
        #expect(try listed(owner) == [SFTPMailboxUpload(name: ".B82002.part", uploader: "YOI123", size: 13)])
        sender.end()
        #expect(try listed(owner).isEmpty, "an upload whose session ended is removed")
    }

    @Test func aSecondSenderCannotListOpenOrWaitOnAnotherSendersUpload() throws {
        let (sender, handle) = try sending(Array("YOI123's bundle, half".utf8))
        let insider = try relay.session("B82002")
        let attempts: [(String, (UInt32) -> SFTPMessage)] = [
            ("mailbox-uploads", { SFTPExtendedRequest.mailboxUploads(path: "/A81001").message(id: $0) }),
            ("OPEN (read)", { .open(id: $0, path: "/A81001/.b.part", flags: .read, attributes: SFTPAttributes()) }),
            ("STAT", { .stat(id: $0, path: "/A81001/.b.part") }),
            (
                "mailbox-wait with uploads",
                {
                    SFTPExtendedRequest.mailboxWait(path: "/A81001", timeoutMilliseconds: 0, flags: .uploads).message(
                        id: $0)
                }
            ),
        ]
        for (what, make) in attempts {
            let reply = insider.request(id: 7, make)
            #expect(reply.encoded() == refusal, "\(what): \(reply)")
        }
        // No handle of its own is there to ask about, whatever number it guesses.
        for guess: UInt32 in 1...4 {
            let reply = insider.request {
                SFTPExtendedRequest.uploadState(handle: withUnsafeBytes(of: guess.bigEndian) { Array($0) })
                    .message(id: $0)
            }
            #expect(!{ if case .extendedReply = reply { true } else { false } }(), "\(reply)")
        }
        // The refusal log has the real reason for the operator.
        #expect(relay.logLines().contains { $0.contains("mailbox-uploads@gatehouse") && $0.contains("never listed") })
        // Nor does the insider's own listing of its own mailbox show uploads elsewhere.
        #expect(try listed(insider, "/B82002").isEmpty)
        #expect(sender.close(handle).isOK)
    }

    @Test func theOwnerReadsAnArrivingUploadButCanNeverChangeIt() throws {
        let bytes = Array("the first half of a sealed bundle".utf8)
        let (sender, upload) = try sending(bytes)
        let owner = try relay.session("A81001")
        let handle = try follow(owner)
        guard case .data(_, let read) = owner.request({ .read(id: $0, handle: handle, offset: 0, length: 1000) }) else {
            throw Unexpected()
        }
        #expect(read == bytes)
        let past = owner.request { .read(id: $0, handle: handle, offset: UInt64(bytes.count), length: 10) }
        #expect(past.statusCode?.code == .eof)
        let attempts: [(String, (UInt32) -> SFTPMessage)] = [
            ("WRITE", { .write(id: $0, handle: handle, offset: 0, data: Array("forged".utf8)) }),
            ("WRITE at the end", { .write(id: $0, handle: handle, offset: UInt64(bytes.count), data: [1]) }),
            ("fsync", { SFTPExtendedRequest.fsync(handle: handle).message(id: $0) }),
            ("FSETSTAT", { .fsetstat(id: $0, handle: handle, attributes: SFTPAttributes(size: 0)) }),
            ("REMOVE", { .remove(id: $0, path: "/A81001/.b.part") }),
            (
                "publish",
                { SFTPExtendedRequest.posixRename(from: "/A81001/.b.part", to: "/A81001/x.ghb").message(id: $0) }
            ),
            ("RENAME", { .rename(id: $0, from: "/A81001/.b.part", to: "/A81001/x.ghb") }),
            ("SETSTAT", { .setstat(id: $0, path: "/A81001/.b.part", attributes: SFTPAttributes(size: 0)) }),
            (
                "OPEN (write)",
                {
                    .open(
                        id: $0, path: "/A81001/.b.part", flags: [.write, .create, .truncate],
                        attributes: SFTPAttributes())
                }
            ),
        ]
        for (what, make) in attempts {
            let reply = owner.request(make)
            #expect(reply.statusCode != nil && reply.isOK == false, "\(what): \(reply)")
        }
        #expect(relay.contents("A81001/.b.part") == bytes)
        // The sender's upload is still its own to finish and publish.
        #expect(sender.write(upload, Array(" and the rest".utf8), at: UInt64(bytes.count)).isOK)
        #expect(sender.close(upload).isOK)
        #expect(sender.publish("/A81001/.b.part", "/A81001/x.ghb").isOK)
        #expect(try state(owner, handle) == SFTPUploadState(.published(name: "x.ghb"), size: UInt64(bytes.count + 13)))
        #expect(owner.close(handle).isOK)
    }

    @Test func theOwnSessionsUploadsAreNoNewsToItAndItsProbeIsStillRemoved() throws {
        let owner = try relay.session("A81001")
        let probe = try #require(owner.create("/A81001/.clock-probe.part").handle)
        #expect(wait(owner, flags: .uploads).statusCode?.code == .eof)
        #expect(try listed(owner).isEmpty)
        #expect(owner.close(probe).isOK)
        #expect(owner.request { .remove(id: $0, path: "/A81001/.clock-probe.part") }.isOK)
    }

    @Test func aWaitForUploadsAnswersOncePerUploadAndAnOldWaitIgnoresThem() throws {
        let owner = try relay.session("A81001")
        #expect(wait(owner, flags: .uploads).statusCode?.code == .eof)
        let (sender, handle) = try sending([1, 2, 3])
        // As before the flags: an upload in progress is no mail.
        #expect(wait(owner, flags: []).statusCode?.code == .eof)
        #expect(wait(owner, flags: .uploads).isOK)
        #expect(try listed(owner).map(\.name) == [".b.part"])
        #expect(wait(owner, flags: .uploads).statusCode?.code == .eof, "told about already")
        // A new file under the same name (the first abandoned) is news again.
        #expect(sender.close(handle).isOK)
        #expect(sender.request { .remove(id: $0, path: "/A81001/.b.part") }.isOK)
        let again = try #require(sender.create("/A81001/.b.part").handle)
        #expect(wait(owner, flags: .uploads).isOK)
        #expect(sender.close(again).isOK)
        // Published, it is mail, for a wait with or without flags.
        #expect(sender.publish("/A81001/.b.part", "/A81001/\(bundleName())").isOK)
        #expect(wait(owner, flags: []).isOK)
    }

    @Test func aWaitForUploadsWakesWhenOneBegins() throws {
        let owner = try relay.session("A81001")
        // The thread is the sender's only user until the wait has been answered.
        nonisolated(unsafe) let sender = try relay.session("YOI123")
        let begun = Thread {
            usleep(100_000)
            _ = sender.create("/A81001/.late.part")
        }
        begun.start()
        // Woken by the create or the tag that follows it, long before the 20 s pass.
        #expect(wait(owner, flags: .uploads, timeout: 20_000).isOK)
    }

    @Test func aYoungUploadWakesNoOneAndItsPublishWakesTheWaiterAsMail() throws {
        // A small upload is published within milliseconds: the waiter is woken by the mail, not
        // sent to follow a name about to go.
        let owner = try relay.session("A81001", followAfter: 60_000)
        let (sender, handle) = try sending([1, 2, 3])
        #expect(wait(owner, flags: .uploads, timeout: 50).statusCode?.code == .eof, "young: no news yet")
        #expect(try listed(owner).map(\.name) == [".b.part"], "still listed for whoever asks")
        #expect(sender.close(handle).isOK)
        nonisolated(unsafe) let publisher = sender
        let published = Thread {
            usleep(50_000)
            _ = publisher.publish("/A81001/.b.part", "/A81001/\(bundleName())")
        }
        published.start()
        #expect(wait(owner, flags: .uploads, timeout: 20_000).isOK)
        #expect(relay.names("A81001").contains { $0.hasSuffix(".ghb") }, "woken by the publish, not by a timeout")
    }

    @Test func aYoungUploadWakesAWaiterWhenItComesOfAgeWithNothingElseHappening() throws {
        let owner = try relay.session("A81001", followAfter: 300)
        let (sender, handle) = try sending([1, 2, 3])
        let start = ContinuousClock.now
        // No event marks an upload's age: the relay looks again when it is due.
        #expect(wait(owner, flags: .uploads, timeout: 20_000).isOK)
        #expect(ContinuousClock.now - start >= .milliseconds(250), "not before it is 300 ms old")
        #expect(sender.close(handle).isOK)
    }

    @Test func aSessionsWaitsShareOneInotifyInstanceAndLeaveNoWatchBehind() throws {
        // The session keeps its instance (closing one waits out a kernel grace period), so each
        // wait must remove its own watch: none may pile up, however many waits a client sends.
        let owner = try relay.session("A81001")
        for _ in 0..<50 { #expect(wait(owner, flags: .uploads).statusCode?.code == .eof) }
        try relay.place("A81001/\(bundleName())", "mail")
        #expect(wait(owner, flags: []).isOK, "the shared instance still wakes a wait")
        var folder = Glibc.stat()
        #expect(lstat("\(relay.root)/A81001", &folder) == 0)
        #expect(!Self.inodesWatchedByThisProcess().contains(UInt64(folder.st_ino)))
    }

    /// The inodes every inotify instance of this process watches (from /proc/self/fdinfo).
    static func inodesWatchedByThisProcess() -> Set<UInt64> {
        var found: Set<UInt64> = []
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) == "anon_inode:inotify",
                let info = try? String(contentsOfFile: "/proc/self/fdinfo/\(fd)", encoding: .utf8)
            else { continue }
            for line in info.split(separator: "\n") where line.hasPrefix("inotify wd:") {
                let field = line.split(separator: " ").first { $0.hasPrefix("ino:") }
                if let hex = field?.dropFirst(4), let inode = UInt64(hex, radix: 16) { found.insert(inode) }
            }
        }
        return found
    }

    @Test func noTwoSpellingsOfOneNameCanShareAMailbox() throws {
        // `.café` (U+00E9) and `.cafe` + U+0301 are one name to Swift's String equality and two
        // files on disk. Sessions are told apart by the bytes of the names they created; the
        // second spelling (not NFC) is refused outright, so no insider can hold a name equal to
        // another sender's upload.
        let (sender, handle) = try sending(Array("YOI123's bundle".utf8), as: "/A81001/.caf\u{e9}.part")
        #expect(sender.close(handle).isOK)
        let insider = try relay.session("B82002")
        #expect(insider.create("/A81001/.cafe\u{301}.part").handle == nil)
        #expect(insider.request { .remove(id: $0, path: "/A81001/.caf\u{e9}.part") }.isRefusal)
        #expect(relay.contents("A81001/.caf\u{e9}.part") == Array("YOI123's bundle".utf8))
    }

    @Test func aDotNameWithoutTheUploaderTagIsNotFollowed() throws {
        // Put there by hand, not by an upload: it would be "in progress" for ever.
        try relay.place("A81001/.placed.part", "no uploader tag")
        let owner = try relay.session("A81001")
        let reply = owner.request { .open(id: $0, path: "/A81001/.placed.part", flags: .read, attributes: SFTPAttributes()) }
        #expect(reply.statusCode?.code == .failure, "\(reply)")
        #expect(reply.statusCode?.message.contains("no uploader tag") == true)
    }

    @Test func unknownWaitFlagsAreRefusedAndNoFlagsIsTheOldRequestByteForByte() throws {
        let owner = try relay.session("A81001")
        var data = SFTPExtendedRequest.mailboxWait(path: "/A81001", timeoutMilliseconds: 0, flags: .uploads)
            .message(id: 9)
        if case .extended(let id, let name, var fields) = data {
            fields[fields.count - 1] = 0x03
            data = .extended(id: id, name: name, data: fields)
        }
        #expect(owner.request { _ in data }.statusCode?.code == .badMessage)
        // What a client before the flags sent: string path, uint32 timeout, nothing more.
        let old: [UInt8] = [0, 0, 0, 7] + Array("/A81001".utf8) + [0, 0, 0, 0]
        #expect(
            SFTPExtendedRequest.mailboxWait(path: "/A81001", timeoutMilliseconds: 0).message(id: 9)
                == .extended(id: 9, name: SFTP.Extension.mailboxWait, data: old))
    }

    @Test func theStateFollowsTheFileNotTheName() throws {
        let (sender, upload) = try sending(Array("abcd".utf8))
        let owner = try relay.session("A81001")
        let handle = try follow(owner)
        #expect(try state(owner, handle) == SFTPUploadState(.inProgress, size: 4))
        #expect(sender.write(upload, Array("efgh".utf8), at: 4).isOK)
        #expect(try state(owner, handle) == SFTPUploadState(.inProgress, size: 8))
        // Replaced: removed, and a new upload under the same name with other bytes, published.
        #expect(sender.close(upload).isOK)
        #expect(sender.request { .remove(id: $0, path: "/A81001/.b.part") }.isOK)
        let name = bundleName()
        #expect(sender.deliver(Array("other bytes!".utf8), to: "/A81001/\(name)", via: "/A81001/.b.part").isOK)
        #expect(relay.names("A81001") == [name])
        #expect(try state(owner, handle) == SFTPUploadState(.abandoned, size: 8))
    }

    @Test func aFinalNameMadeFromAnotherFileIsNotThePublishOfTheFileRead() throws {
        let bytes = Array("the same sealed bundle".utf8)
        let name = bundleName()
        let (sender, upload) = try sending(bytes)
        #expect(sender.close(upload).isOK)
        let owner = try relay.session("A81001")
        let handle = try follow(owner)
        // The same sender publishes the same bytes from another upload first: the followed one's
        // publish then counts as "already delivered" and its file is removed, not renamed.
        #expect(sender.deliver(bytes, to: "/A81001/\(name)", via: "/A81001/.other.part").isOK)
        #expect(sender.publish("/A81001/.b.part", "/A81001/\(name)").isOK)
        #expect(relay.names("A81001") == [name])
        #expect(try state(owner, handle) == SFTPUploadState(.abandoned, size: UInt64(bytes.count)))
    }

    @Test func anUploadAbandonedMidWayIsReportedAbandoned() throws {
        let (sender, _) = try sending(Array("half".utf8))
        let owner = try relay.session("A81001")
        let handle = try follow(owner)
        // The sender goes away: the relay removes its unfinished upload.
        sender.end()
        #expect(try state(owner, handle) == SFTPUploadState(.abandoned, size: 4))
        guard case .data(_, let read) = owner.request({ .read(id: $0, handle: handle, offset: 0, length: 10) }) else {
            throw Unexpected()
        }
        #expect(read == Array("half".utf8), "the open handle still reads what was there")
    }

    @Test func writingOverBytesAlreadyWrittenOrPastAHoleMarksTheUpload() throws {
        for (offset, what) in [(UInt64(0), "over"), (10, "past a hole")] {
            let relay = try RelayFixture()
            let sender = try relay.session("YOI123")
            let upload = try #require(sender.create("/A81001/.b.part").handle)
            #expect(sender.write(upload, Array("abcd".utf8)).isOK)
            let owner = try relay.session("A81001")
            let reply = owner.request {
                .open(id: $0, path: "/A81001/.b.part", flags: .read, attributes: SFTPAttributes())
            }
            guard case .handle(_, let handle) = reply else { throw Unexpected(reply) }
            #expect(try state(owner, handle).rewritten == false)
            #expect(sender.write(upload, Array("wxyz".utf8), at: offset).isOK, "the sender may still write \(what)")
            #expect(try state(owner, handle).rewritten, "written \(what)")
            #expect(sender.close(upload).isOK)
            #expect(sender.publish("/A81001/.b.part", "/A81001/x.ghb").isOK)
            let published = try state(owner, handle)
            #expect(published.phase == .published(name: "x.ghb") && published.rewritten, "\(what)")
        }
    }

    @Test func aStateRequestWithASizeWaitsForGrowth() throws {
        let (session, upload) = try sending(Array("abcd".utf8))
        // The thread is the sender's only user until the state has been answered.
        nonisolated(unsafe) let sender = session
        let owner = try relay.session("A81001")
        let handle = try follow(owner)
        let grows = Thread {
            usleep(100_000)
            _ = sender.write(upload, Array("efgh".utf8), at: 4)
        }
        grows.start()
        #expect(try state(owner, handle, whileSize: 4, timeout: 20_000) == SFTPUploadState(.inProgress, size: 8))
        // A request already waiting behind it: answered at once, as it is.
        owner.send(
            SFTPExtendedRequest.uploadState(handle: handle, whileSize: 8, timeoutMilliseconds: 20_000).message(id: 1))
        owner.send(.stat(id: 2, path: "/A81001/.b.part"))
        guard case .extendedReply(1, let data)? = owner.receive() else { throw Unexpected() }
        #expect(try SFTPUploadState.decode(data) == SFTPUploadState(.inProgress, size: 8))
        #expect({ if case .attrs(2, _)? = owner.receive() { true } else { false } }())
    }

    @Test func theCriticalCellsOfTheArrivingColumn() {
        for request in [MailboxRequest.write, .fsync, .remove, .publish, .rename, .setstat, .fsetstat] {
            #expect(MailboxPolicy.decision(request, in: .arriving) != .allowed, "\(request) on an arriving upload")
        }
        for request in [MailboxRequest.openRead, .read, .fstat, .close, .uploadState] {
            #expect(MailboxPolicy.decision(request, in: .arriving) == .allowed, "\(request) on an arriving upload")
        }
        for request in [MailboxRequest.mailboxUploads, .uploadState] {
            #expect(MailboxPolicy.decision(request, in: .other) != .allowed, "\(request) in another's mailbox")
            #expect(MailboxPolicy.decision(request, in: .upload) != .allowed, "\(request) on the session's upload")
        }
    }

    @Test func aFollowingHandleHasAStateAndNoOtherHandleDoes() throws {
        try relay.place("A81001/in.ghb", "published mail")
        let owner = try relay.session("A81001")
        let reply = owner.request { .open(id: $0, path: "/A81001/in.ghb", flags: .read, attributes: SFTPAttributes()) }
        guard case .handle(_, let handle) = reply else { throw Unexpected(reply) }
        let state = owner.request { SFTPExtendedRequest.uploadState(handle: handle).message(id: $0) }
        #expect(state.isRefusal, "\(state)")
        let sender = try relay.session("YOI123")
        let own = try #require(sender.create("/A81001/.mine.part").handle)
        #expect(sender.request { SFTPExtendedRequest.uploadState(handle: own).message(id: $0) }.isRefusal)
    }
}
