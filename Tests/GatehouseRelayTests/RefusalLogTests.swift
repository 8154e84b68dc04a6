import Foundation
import GatehouseFormat
import GatehouseSFTP
import Glibc
import Testing

@testable import GatehouseRelay

/// Refusals reach the relay's operator: one line each in the relay's log file, with the real
/// reason (the client is told only the one answer of ``MailboxPolicy``), rate-limited per session.
@Suite("the refusal log")
struct RefusalLogTests {
    let relay: RelayFixture
    init() throws { relay = try RelayFixture() }

    /// A clock a test moves by hand.
    final class Clock: @unchecked Sendable {
        var now: Int64 = 1_777_000_000
    }

    @Test func aRefusalIsOneLineWithTimeOrganisationRequestPathAndReason() throws {
        let clock = Clock()
        let insider = try relay.session("B82002", now: { clock.now })
        let reply = insider.request { .remove(id: $0, path: "/A81001/YOI123.2.ghk") }
        #expect(reply.statusCode?.message == MailboxPolicy.otherMailboxRefusal)
        insider.end()
        #expect(
            relay.logLines() == [
                "2026-04-24T03:06:40Z [\(getpid())] B82002: refused remove \"/A81001/YOI123.2.ghk\": "
                    + "nothing is removed in another organisation's mailbox, except this session's unfinished uploads"
            ])
        var info = Glibc.stat()
        #expect(lstat(relay.logFile, &info) == 0)
        #expect(
            info.st_mode & 0o777 & ~0o640 == 0,
            "created 0640 (less by the umask): \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test func theOperatorSeesWhyAPublishWasRefused() throws {
        let prison = try relay.session("YOI123")
        #expect(prison.deliver(Array("revocation".utf8), to: "/A81001/YOI123.2.ghk").isOK)
        let insider = try relay.session("B82002")
        #expect(insider.deliver(Array("revocation".utf8), to: "/A81001/YOI123.2.ghk").isRefusal)
        #expect(insider.deliver(Array("bundle".utf8), to: "/A81001/\(bundleName())").isOK)
        let name = bundleName()
        #expect(prison.deliver(Array("first".utf8), to: "/A81001/\(name)").isOK)
        #expect(insider.deliver(Array("first".utf8), to: "/A81001/\(name)").isRefusal)
        let lines = relay.logLines()
        #expect(
            lines.contains {
                $0.contains("B82002: refused posix-rename@openssh.com")
                    && $0.hasSuffix("YOI123.2.ghk is a name only YOI123 may publish")
            },
            "\(lines)")
        #expect(
            lines.contains {
                $0.hasSuffix(
                    "/A81001/\(name) exists, from another sender or with other contents; mailboxes never overwrite")
            },
            "\(lines)")
    }

    @Test func atMostTenLinesASecondPerSessionThenOneLineForTheRest() throws {
        let clock = Clock()
        let insider = try relay.session("B82002", now: { clock.now })
        for n in 0..<12 { insider.request { .stat(id: $0, path: "/A81001/probe\(n).ghb") } }
        clock.now += 1
        insider.request { .stat(id: $0, path: "/A81001/next-second.ghb") }
        for n in 0..<30 { insider.request { .stat(id: $0, path: "/A81001/again\(n).ghb") } }
        insider.end()
        let lines = relay.logLines()
        let suppressed =
            "more refusal(s) not logged (at most \(MailboxLimits.refusalLinesPerSecond) lines a second per session)"
        #expect(lines.count == 10 + 1 + 10 + 1, "\(lines)")
        #expect(lines[10].hasSuffix("B82002: 2 \(suppressed)"))
        #expect(lines[11].contains("next-second.ghb"))
        #expect(lines[21].hasSuffix("B82002: 21 \(suppressed)"), "the rest, when the session ends")
    }

    @Test func aPathCannotForgeOrHideLogLines() throws {
        let insider = try relay.session("B82002")
        insider.request { .stat(id: $0, path: "/A81001/x.ghb\n2026-01-01T00:00:00Z [1] A81001: refused nothing") }
        insider.request { .remove(id: $0, path: "/A81001/report\u{202E}fdp.exe") }
        insider.end()
        let lines = relay.logLines()
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.contains("x.ghb\\u{a}2026-01-01T00:00:00Z") == true, "\(lines)")
        #expect(lines.last?.contains("report\\u{202e}fdp.exe") == true, "\(lines)")
    }

    /// A path of 100,000 control characters (valid UTF-8) was logged as a 1.3 MB line: lines are
    /// bounded, so an insider's sessions cannot fill the relay's disk through its log.
    @Test func aHugePathIsLoggedInABoundedLine() throws {
        let insider = try relay.session("B82002")
        insider.request { .remove(id: $0, path: "/A81001/" + String(repeating: "\u{1}", count: 100_000)) }
        insider.end()
        let lines = relay.logLines()
        #expect(lines.count == 1, "\(lines.count) lines")
        #expect((lines.first?.utf8.count ?? 0) < 2048, "\(lines.first?.utf8.count ?? 0) bytes")
        #expect(lines.first?.contains("bytes in all") == true)
        #expect(RefusalLog.escaped(String(repeating: "a", count: 10_000)).utf8.count < RefusalLog.maxTextBytes + 64)
    }

    @Test func sessionsOfSeveralOrganisationsAppendToOneLog() throws {
        for org in ["A81001", "B82002", "YOI123"] {
            let session = try relay.session(org)
            session.request { .mkdir(id: $0, path: "/\(org)/sub", attributes: SFTPAttributes()) }
            session.end()
        }
        #expect(relay.logLines().map { $0.split(separator: " ")[2] } == ["A81001:", "B82002:", "YOI123:"])
    }
}
