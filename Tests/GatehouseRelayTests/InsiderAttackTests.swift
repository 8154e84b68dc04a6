import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Testing

@testable import GatehouseRelay

/// Issue 13, vulnerability 2: organisation C (B82002), registered on the same relay, copied the
/// prison's revocation `YOI123.2.ghk` into A81001's mailbox under the same name, which made it
/// "its own" upload, and removed it while A81001 was offline. In another organisation's mailbox
/// C may now create new files and nothing else, and every refusal there reads the same.
@Suite("an insider on the same relay")
struct InsiderAttackTests {
    let relay: RelayFixture
    let revocation = Array("YOI123 key manifest 2: signing key 1a2b3c4d5e6f7a8b revoked".utf8)
    /// The one refusal every request below must get, with request id 7.
    let refusal = SFTPMessage.status(
        id: 7, code: SFTP.StatusCode.permissionDenied.rawValue,
        message: MailboxPolicy.otherMailboxRefusal, language: ""
    ).encoded()

    init() throws { relay = try RelayFixture() }

    /// The prison's revocation, in A81001's mailbox, published by the prison.
    func prisonSendsItsRevocation() throws {
        let prison = try relay.session("YOI123")
        #expect(prison.deliver(revocation, to: "/A81001/YOI123.2.ghk").isOK)
        prison.end()
        #expect(UploaderTag.read(path: "\(relay.root)/A81001/YOI123.2.ghk") == (try ODSCode("YOI123")))
    }

    /// Every way C might touch `path` in A81001's mailbox, each with request id 7.
    func attempts(on path: String) -> [(String, (UInt32) -> SFTPMessage)] {
        [
            ("REMOVE", { .remove(id: $0, path: path) }),
            ("STAT", { .stat(id: $0, path: path) }),
            ("LSTAT", { .lstat(id: $0, path: path) }),
            ("RENAME", { .rename(id: $0, from: path, to: "/A81001/renamed.ghb") }),
            ("OPEN (read)", { .open(id: $0, path: path, flags: .read, attributes: SFTPAttributes()) }),
            (
                "OPEN (write)",
                { .open(id: $0, path: path, flags: [.write, .create, .truncate], attributes: SFTPAttributes()) }
            ),
            (
                "posix-rename away",
                { SFTPExtendedRequest.posixRename(from: path, to: "/A81001/moved.ghb").message(id: $0) }
            ),
            ("SETSTAT", { .setstat(id: $0, path: path, attributes: SFTPAttributes(size: 0)) }),
        ]
    }

    @Test func aCopiedRevocationCannotBeRemovedLookedAtOrReplaced() throws {
        try prisonSendsItsRevocation()
        let insider = try relay.session("B82002")
        // The attack as run: the same bytes under the same name (then REMOVE, below).
        let sameBytes = insider.deliver(revocation, to: "/A81001/YOI123.2.ghk", publishID: 7)
        let otherBytes = insider.deliver(Array("a forged manifest".utf8), to: "/A81001/YOI123.2.ghk", publishID: 7)
        let noSuchUpload = insider.publish("/A81001/.never-made.part", "/A81001/YOI123.3.ghk", id: 7)
        #expect(sameBytes.encoded() == refusal, "\(sameBytes)")
        #expect(otherBytes.encoded() == refusal, "\(otherBytes)")
        #expect(noSuchUpload.encoded() == refusal, "\(noSuchUpload)")
        // Whether the name exists or not, every answer is byte for byte the same.
        for path in ["/A81001/YOI123.2.ghk", "/A81001/YOI123.9.ghk"] {
            for (what, make) in attempts(on: path) {
                let reply = insider.request(id: 7, make)
                #expect(reply.encoded() == refusal, "\(what) \(path): \(reply)")
            }
        }
        insider.end()
        #expect(relay.contents("A81001/YOI123.2.ghk") == revocation)
        #expect(relay.names("A81001") == ["YOI123.2.ghk"], "the insider's uploads are removed when its session ends")
    }

    @Test func publishingOverAnyoneElsesBundleIsRefusedAlikeWithTheSameOrOtherBytes() throws {
        let bundle = Array("YOI123's sealed bundle".utf8)
        let name = bundleName()
        let prison = try relay.session("YOI123")
        #expect(prison.deliver(bundle, to: "/A81001/\(name)").isOK)
        let insider = try relay.session("B82002")
        #expect(insider.deliver(bundle, to: "/A81001/\(name)", publishID: 7).encoded() == refusal)
        #expect(insider.deliver(Array("junk".utf8), to: "/A81001/\(name)", publishID: 7).encoded() == refusal)
        // A file the relay's operator put there (no uploader) is no one's to re-deliver either.
        try relay.place("A81001/placed.ghb", "placed")
        #expect(insider.deliver(Array("placed".utf8), to: "/A81001/placed.ghb", publishID: 7).encoded() == refusal)
        #expect(relay.contents("A81001/\(name)") == bundle)
    }

    @Test func theSameSenderCanDeliverTheSameBytesAgainButNeverOtherBytes() throws {
        let bundle = Array("A81001's sealed bundle".utf8)
        let name = bundleName()
        let first = try relay.session("A81001")
        #expect(first.deliver(bundle, to: "/YOI123/\(name)").isOK)
        first.end()
        // A retry whose answer was lost, in a new session: already delivered.
        let retry = try relay.session("A81001")
        #expect(retry.deliver(bundle, to: "/YOI123/\(name)").isOK)
        #expect(retry.deliver(Array("other bytes".utf8), to: "/YOI123/\(name)", publishID: 7).encoded() == refusal)
        retry.end()
        #expect(relay.contents("YOI123/\(name)") == bundle)
        #expect(relay.names("YOI123") == [name])
    }

    @Test func aSenderLearnsNothingAboutItsOwnPublishedFileEither() throws {
        let name = bundleName()
        let sender = try relay.session("B82002")
        #expect(sender.deliver(Array("bundle".utf8), to: "/A81001/\(name)").isOK)
        // Before this fix the session could STAT and REMOVE what it had published.
        for (what, make) in attempts(on: "/A81001/\(name)") {
            #expect(sender.request(id: 7, make).encoded() == refusal, "\(what)")
        }
        #expect(relay.contents("A81001/\(name)") == Array("bundle".utf8))
    }

    @Test func anotherSessionsUnfinishedUploadIsOutOfReach() throws {
        let prison = try relay.session("YOI123")
        let (handle, _) = prison.create("/A81001/.upload.part")
        let open = try #require(handle)
        let insider = try relay.session("B82002")
        for (what, make) in attempts(on: "/A81001/.upload.part") + [
            (
                "OPEN (create) on the same name",
                {
                    .open(
                        id: $0, path: "/A81001/.upload.part", flags: [.write, .create, .exclusive],
                        attributes: SFTPAttributes())
                }
            )
        ] {
            #expect(insider.request(id: 7, make).encoded() == refusal, "\(what)")
        }
        // The prison's own upload is still its own.
        #expect(prison.write(open, Array("rest".utf8)).isOK)
        #expect(prison.close(open).isOK)
        let looked = prison.request { .stat(id: $0, path: "/A81001/.upload.part") }
        #expect({ if case .attrs = looked { true } else { false } }(), "\(looked)")
        #expect(prison.publish("/A81001/.upload.part", "/A81001/\(bundleName())").isOK)
    }

    @Test func ownUnfinishedUploadsCanBeLookedAtAndRemoved() throws {
        let sender = try relay.session("B82002")
        let (handle, _) = sender.create("/A81001/.mine.part")
        let open = try #require(handle)
        #expect(sender.write(open, Array("half".utf8)).isOK)
        guard case .attrs(_, let attributes) = sender.request({ .stat(id: $0, path: "/A81001/.mine.part") }) else {
            Issue.record("STAT of the own upload was refused")
            return
        }
        #expect(attributes.size == 4)
        // Not while its handle is open: the handle could write on into a file no quota counts.
        #expect(sender.request { .remove(id: $0, path: "/A81001/.mine.part") }.isRefusal)
        #expect(sender.close(open).isOK)
        #expect(sender.request { .remove(id: $0, path: "/A81001/.mine.part") }.isOK)
        #expect(relay.names("A81001").isEmpty)
        // Gone, it is an ordinary name in another's mailbox again.
        #expect(sender.request(id: 7) { .stat(id: $0, path: "/A81001/.mine.part") }.encoded() == refusal)
    }

    @Test func theCriticalCellsOfThePolicy() {
        for request in [MailboxRequest.stat, .remove, .publish, .openRead, .opendir, .rename, .mailboxWait] {
            #expect(MailboxPolicy.decision(request, in: .other) != .allowed, "\(request) in another's mailbox")
        }
        #expect(MailboxPolicy.decision(.openCreate, in: .other) == .allowed)
        #expect(MailboxPolicy.decision(.stat, in: .upload) == .allowed)
        #expect(MailboxPolicy.decision(.remove, in: .upload) == .allowed)
    }
}
