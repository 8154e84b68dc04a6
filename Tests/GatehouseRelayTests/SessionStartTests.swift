import GatehouseSFTP
import Testing

@testable import GatehouseRelay

/// INIT first and once, as OpenSSH's sftp-server insists: anything else ends the session
/// before any file is touched.
@Suite("session start")
struct SessionStartTests {
    let relay: RelayFixture
    init() throws { relay = try RelayFixture() }

    @Test func initAnswersVersion3WithTheExtensions() throws {
        let session = try relay.session("A81001", initialise: false)
        session.send(.initialise(version: 3, extensions: []))
        guard case .version(3, let extensions)? = session.receive() else {
            Issue.record("no VERSION 3 reply")
            return
        }
        #expect(
            Set(extensions.map(\.name)) == [
                SFTP.Extension.posixRename, SFTP.Extension.fsync, SFTP.Extension.limits,
                SFTP.Extension.mailboxWait, SFTP.Extension.mailboxUploads, SFTP.Extension.uploadState,
            ])
        // Version 2 of the wait takes flags.
        #expect(extensions.first { $0.name == SFTP.Extension.mailboxWait }?.data == Array("2".utf8))
    }

    @Test(arguments: [
        SFTPMessage.open(
            id: 1, path: "/YOI123/.early.part", flags: [.write, .create, .exclusive], attributes: SFTPAttributes()),
        .remove(id: 1, path: "/A81001/in.ghb"),
        .opendir(id: 1, path: "/A81001"),
        SFTPExtendedRequest.limits.message(id: 1),
    ])
    func aRequestBeforeInitEndsTheSession(request: SFTPMessage) throws {
        try relay.place("A81001/in.ghb", "mail")
        let session = try relay.session("A81001", initialise: false)
        session.send(request)
        #expect(session.serverEnded())
        #expect(relay.names("YOI123").isEmpty)
        #expect(relay.names("A81001") == ["in.ghb"])
        #expect(
            relay.logLines().contains {
                $0.contains("A81001: sent SSH_FXP_") && $0.hasSuffix("before SSH_FXP_INIT: session ended")
            },
            "\(relay.logLines())")
    }

    @Test func aSecondInitEndsTheSession() throws {
        let session = try relay.session("A81001")
        session.send(.initialise(version: 3, extensions: []))
        #expect(session.serverEnded())
        #expect(
            relay.logLines().contains { $0.hasSuffix("A81001: sent SSH_FXP_INIT a second time: session ended") },
            "\(relay.logLines())")
    }

    @Test func theLimitsAreTheNamedConstants() throws {
        let session = try relay.session("A81001")
        guard case .extendedReply(_, let data) = session.request({ SFTPExtendedRequest.limits.message(id: $0) }) else {
            Issue.record("no limits reply")
            return
        }
        let limits = try SFTPLimits.decode(data)
        #expect(limits.maxOpenHandles == UInt64(MailboxLimits.maxOpenHandles))
        #expect(limits.maxReadLength == UInt64(MailboxLimits.maxReadLength))
        // The 65th handle is refused.
        for n in 0..<MailboxLimits.maxOpenHandles { #expect(session.create("/A81001/.h\(n).part").handle != nil) }
        #expect(session.create("/A81001/.one-too-many.part").handle == nil)
        #expect(!relay.names("A81001").contains(".one-too-many.part"))
    }

    @Test func aReaddirPageHoldsAtMostTheNamedNumberOfNames() throws {
        for n in 0..<(MailboxLimits.readdirPage + 5) { try relay.place("A81001/m\(n).ghb", "mail") }
        let session = try relay.session("A81001")
        guard case .handle(_, let folder) = session.request({ .opendir(id: $0, path: "/A81001") }) else {
            Issue.record("OPENDIR refused")
            return
        }
        var pages: [Int] = []
        while case .name(_, let entries) = session.request({ .readdir(id: $0, handle: folder) }) {
            pages.append(entries.count)
        }
        #expect(pages == [MailboxLimits.readdirPage, 5])
    }
}
