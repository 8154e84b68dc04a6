import Foundation
import GatehouseKit
@testable import GatehouseNotify
import GatehouseTesting
import Testing

/// What an attacker who controls a receiver, a partner's card or a reason could try.
@Suite struct HostileReceiverTests {
    /// A receiver that reads the request and never answers costs one timeout: the send fails
    /// and is retried later, nothing waits for ever.
    @Test func aReceiverThatNeverAnswersTimesOut() async throws {
        let receiver = try WebhookReceiver(mode: "hang")
        let fixture = try NotifierFixture(webhookSettings(receiver.url()))
        fixture.notifier.emit(fixture.failure())
        #expect(await fixture.notifier.drain() != nil)
        #expect(receiver.requests.count == 1)
        #expect(fixture.auditLines.first?.hasSuffix(": timeout") == true)
    }

    /// A receiver that hangs costs one timeout per retry interval, not one per waiting event;
    /// and a command target is not held up by it.
    @Test func aHangingReceiverCostsOneAttemptPerPass() async throws {
        let receiver = try WebhookReceiver(mode: "hang")
        let scratch = try TemporaryDirectory()
        var settings = webhookSettings(receiver.url())
        settings.command = NotifySettings.Command(argv: ["/usr/bin/tee", "-a", scratch.appending("events")])
        let fixture = try NotifierFixture(settings)
        for _ in 0..<3 { fixture.notifier.emit(fixture.failure()) }
        _ = await fixture.notifier.drain()
        #expect(receiver.requests.count == 1)
        #expect(fixture.auditLines.filter { $0.hasPrefix("notify-failed webhook") }.count == 1)
        #expect(fixture.auditLines.filter { $0.hasPrefix("notify-sent command") }.count == 3)
    }

    /// An answer whose body never ends is read only as far as the bound.
    @Test func anEndlessBodyIsNotRead() async throws {
        let receiver = try WebhookReceiver(mode: "endless")
        let fixture = try NotifierFixture(webhookSettings(receiver.url()))
        fixture.notifier.emit(fixture.failure())
        #expect(await fixture.notifier.drain() != nil)
        #expect(fixture.auditLines.first?.hasSuffix(": rejected") == true)
    }

    /// What a receiver answers reaches the log as one line: no terminal escape, no forged line.
    @Test func theAnswerCannotForgeALogLine() throws {
        let receiver = try WebhookReceiver(mode: "evil")
        let target = try WebhookTarget(NotifySettings.Webhook(url: receiver.url(), timeout: .seconds(5)))
        #expect { try target.send(Array("{}".utf8), event: "pack.received", id: "1") } throws: { error in
            let message = (error as? NotifyError)?.message ?? ""
            return message.hasPrefix("HTTP 503: line one 2026-12-05T06:00:00Z error forged")
                && !message.unicodeScalars.contains { $0.value < 0x20 }
        }
    }

    /// Headers that never end are refused at the bound.
    @Test func endlessHeadersAreRefused() async throws {
        let receiver = try WebhookReceiver(mode: "endless-head")
        let target = try WebhookTarget(NotifySettings.Webhook(url: receiver.url(), timeout: .seconds(1)))
        #expect(throws: NotifyError.self) { try target.send(Array("{}".utf8), event: "pack.received", id: "1") }
    }

    /// Quotes, new lines and shell syntax in a partner's name or a reason stay text inside JSON
    /// strings, and reach a command on its standard input only: never its arguments, never a shell.
    @Test func hostileTextIsEscapedAndNeverRunByAShell() async throws {
        let scratch = try TemporaryDirectory()
        let received = scratch.appending("event.json"), pwned = scratch.appending("pwned")
        var settings = NotifySettings()
        settings.command = NotifySettings.Command(argv: ["/usr/bin/tee", received], timeout: .seconds(5))
        let fixture = try NotifierFixture(settings)
        let hostile = "Evil\" , \"event\": \"forged\"}\n$(touch \(pwned)); `touch \(pwned)` | touch \(pwned) "
            + "\u{0}\u{1b}[2J"
        let event = fixture.failure(partnerName: hostile, reason: "x\r\nX-Injected: 1\n\(hostile)")
        fixture.notifier.emit(event)
        #expect(await fixture.notifier.drain() == nil)
        let bytes = try #require(FileManager.default.contents(atPath: received))
        // One line of JSON: the new lines are escaped.
        #expect(!bytes.dropLast().contains(UInt8(ascii: "\n")))
        let json = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        #expect(json["event"] as? String == "delivery.failed")
        #expect((json["partner"] as? [String: String])?["name"] == hostile)
        #expect(json["reason"] as? String == "x\r\nX-Injected: 1\n\(hostile)")
        #expect(!FileManager.default.fileExists(atPath: pwned))
    }

    /// The same text in a webhook stays inside the JSON body: no header is added.
    @Test func hostileTextCannotAddAHeader() async throws {
        let receiver = try WebhookReceiver()
        let fixture = try NotifierFixture(webhookSettings(receiver.url()))
        fixture.notifier.emit(fixture.failure(partnerName: "a\r\nX-Injected: 1\r\n\r\n", reason: "b\r\nX-Injected: 2"))
        _ = await fixture.notifier.drain()
        let request = try #require(receiver.requests.first)
        #expect(request.headers["x-injected"] == nil)
        #expect((receiver.events.first?["partner"] as? [String: String])?["name"] == "a\r\nX-Injected: 1\r\n\r\n")
    }

    /// A command runs with a minimal environment (nothing of the daemon's), and is killed after
    /// its timeout; a failing one is a failure.
    @Test func aCommandHasAMinimalEnvironmentAndATimeLimit() throws {
        let env = CommandTarget(NotifySettings.Command(argv: ["/usr/bin/env"], timeout: .seconds(5)))
        let printed = try env.send([])
        let variables = Set(printed.dropFirst(2).split(separator: " "))
        #expect(variables == ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"])
        let slow = CommandTarget(NotifySettings.Command(argv: ["/bin/sleep", "30"], timeout: .seconds(1)))
        #expect { try slow.send(Array("{}".utf8)) } throws: { ($0 as? NotifyError)?.message.contains("killed") == true }
        let failing = CommandTarget(NotifySettings.Command(argv: ["/bin/false"], timeout: .seconds(5)))
        #expect { try failing.send([]) } throws: { ($0 as? NotifyError)?.message.contains("status 1") == true }
    }

    /// A command that closes its input without reading it (or exits at once) makes the next
    /// write fail with EPIPE: an answer for that event, never a SIGPIPE that ends the process
    /// sending it (whichever process that is: the daemon, `notify test`, a test run).
    @Test func aCommandThatClosesItsInputDoesNotKillTheSender() throws {
        let closing = CommandTarget(
            NotifySettings.Command(argv: ["/bin/sh", "-c", "exec 0<&-; sleep 0.1; echo done"], timeout: .seconds(5)))
        let answer = try closing.send(Array(repeating: UInt8(ascii: "x"), count: 1 << 20))
        #expect(answer.contains("done"), "\(answer)")
    }
}
