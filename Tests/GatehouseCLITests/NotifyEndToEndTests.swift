import Foundation
import Glibc
import GatehouseTesting
import Testing

/// `[notify]` through the built binary: two real daemons over a real OpenSSH relay, telling a
/// real webhook receiver and a command what people must hear about.
@Suite("Notifications end to end", .serialized)
struct NotifyEndToEndTests {
    /// Adds `text` to `home`'s gatehouse.toml (and sets `[limits] files_max` when given).
    func configure(_ home: String, _ text: String, filesMax: Int? = nil) throws {
        var config = try String(contentsOfFile: home + "/gatehouse.toml", encoding: .utf8)
        if let filesMax {
            config = config.replacingOccurrences(of: #"(?m)^files_max = .*$"#, with: "files_max = \(filesMax)",
                                                 options: .regularExpression)
        }
        try (config + "\n" + text + "\n").write(toFile: home + "/gatehouse.toml", atomically: true, encoding: .utf8)
    }

    func send(_ pair: DaemonPair, _ names: [String], subject: String, wait: Bool) throws -> ProcessOutput {
        for name in names {
            let record = Data("<record>\(name) for 999 000 0018</record>".utf8)
            try record.write(to: URL(fileURLWithPath: pair.folder.appending(name)))
        }
        return try GatehouseProcess.run(["send"] + names.map { pair.folder.appending($0) } + [
            "--to", "YOI123", "--home", pair.practice, "--subject", subject, "--nhs-number", "999 000 0018",
            "--workflow", "reception-summary"] + (wait ? ["--wait", "--timeout", "60s"] : []))
    }

    /// A received pack reaches the receiver's webhook and command; a pack the receiver refuses
    /// reaches the sender's webhook as `delivery.failed` with the partner's reason. Neither
    /// carries the subject, the NHS number or a file name.
    @Test func aReceivedPackAndARefusedOneReachPeople() throws {
        let pair = try DaemonPair(viaRelay: true)
        let prisonHook = try WebhookReceiver(), practiceHook = try WebhookReceiver()
        let commandOutput = pair.folder.appending("events.jsonl")
        try configure(pair.prison, """
            [notify]
            [notify.command]
            argv = ["/usr/bin/tee", "-a", "\(commandOutput)"]
            [notify.webhook]
            url = "\(prisonHook.url())"
            """, filesMax: 2)
        try configure(pair.practice, """
            [notify.webhook]
            url = "\(practiceHook.url())"
            events = ["delivery.failed", "delivery.expired"]
            """)
        try pair.start()
        let accepted = try send(pair, ["summary.xml"], subject: "Reception: Ada Testperson", wait: true)
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(eventually(timeout: 30) { !prisonHook.events.isEmpty }, "\(pair.daemons[pair.prison]!.logText)")
        let received = try #require(prisonHook.events.first)
        let id = try #require(pair.status(pair.practice).first?["bundle_id"] as? String)
        #expect(received["event"] as? String == "pack.received" && received["bundle"] as? String == id)
        #expect(received["organisation"] as? String == "YOI123")
        #expect(received["workflow"] as? String == "reception-summary")
        #expect((received["partner"] as? [String: String]) == ["ods": "A81001", "name": "Riverside Medical Practice"])
        #expect(received["files"] as? Int == 1)
        let prisonRequest = try #require(prisonHook.requests.first)
        for secret in ["Ada", "9990000018", "999 000 0018", "summary.xml", "subject", "nhs_numbers"] {
            #expect(!String(decoding: prisonRequest.body, as: UTF8.self).contains(secret))
        }
        // The command got the same event on its standard input.
        #expect(eventually(timeout: 10) { FileManager.default.contents(atPath: commandOutput)?.isEmpty == false })
        let line = try #require(FileManager.default.contents(atPath: commandOutput))
        let viaCommand = try JSONSerialization.jsonObject(with: line) as? [String: Any]
        #expect(viaCommand?["id"] as? String == received["id"] as? String)

        // Three files, where the prison takes at most two: refused with a signed receipt.
        let refused = try send(pair, ["a.xml", "b.xml", "c.xml"], subject: "Reception: Ada Testperson", wait: false)
        #expect(refused.status == 0, "\(refused.stderr)")
        #expect(eventually(timeout: 30) { !practiceHook.events.isEmpty }, "\(pair.daemons[pair.practice]!.logText)")
        let failed = try #require(practiceHook.events.first)
        #expect(failed["event"] as? String == "delivery.failed")
        #expect(failed["reason"] as? String == "refused by YOI123: too-large")
        #expect((failed["partner"] as? [String: String]) == ["ods": "YOI123", "name": "HMP Northgate Healthcare"])
        #expect(failed["files"] as? Int == 3 && failed["workflow"] as? String == "reception-summary")
        #expect(failed["subject"] == nil && failed["file_names"] == nil && failed["detail"] == nil)
        // Only the events the practice asked for: no pack.received for the receipts it got.
        #expect(practiceHook.events.count == 1)
        let audit = try GatehouseProcess.run(["audit", "show", "--home", pair.practice, "--since", "1h"])
        #expect(audit.stdout.contains("notify-sent"), "\(audit.stdout)")
    }

    /// A receiver that never answers holds up nothing but its own notifications: records are
    /// delivered and acknowledged meanwhile, and the daemon stops promptly.
    @Test func aReceiverThatNeverAnswersDoesNotStallTheDaemon() throws {
        let pair = try DaemonPair()
        let hanging = try WebhookReceiver(mode: "hang")
        for home in [pair.practice, pair.prison] {
            try configure(home, "[notify.webhook]\nurl = \"\(hanging.url())\"\ntimeout = \"30s\"")
        }
        try pair.start()
        for n in 0..<3 {
            let sent = try send(pair, ["record-\(n).xml"], subject: "Release", wait: true)
            #expect(sent.status == 0, "\(sent.stderr)")
        }
        #expect(pair.states(pair.practice) == ["acknowledged", "acknowledged", "acknowledged"])
        #expect(!hanging.requests.isEmpty)
        // Stopped while a notification waits for its answer: it stays queued for the next start,
        // which sends it (the same id) once the receiver works.
        #expect(pair.daemons[pair.prison]!.stop(timeout: 10) == 0)
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: pair.prison + "/spool/notify")) ?? [])
            .filter { $0.hasSuffix(".webhook.json") }.isEmpty)
        let working = try WebhookReceiver()
        let config = try String(contentsOfFile: pair.prison + "/gatehouse.toml", encoding: .utf8)
        try config.replacingOccurrences(of: hanging.url(), with: working.url())
            .write(toFile: pair.prison + "/gatehouse.toml", atomically: true, encoding: .utf8)
        pair.daemons[pair.prison] = try DaemonProcess(home: pair.prison)
        #expect(eventually(timeout: 30) { working.events.count == 3 }, "\(working.events)")
        let hung = Set(hanging.events.compactMap { $0["id"] as? String })
        #expect(!hung.isEmpty && hung.isSubset(of: Set(working.events.compactMap { $0["id"] as? String })))
        #expect(Set(working.events.compactMap { $0["event"] as? String }) == ["pack.received"])
    }

    /// `gatehouse notify test` sends one event at once and says what each target answered;
    /// `config check` shows the targets without the URL's path (it may hold a token).
    @Test func notifyTestReportsEachTarget() throws {
        let pair = try DaemonPair()
        let receiver = try WebhookReceiver(mode: "fail:1")
        try configure(pair.practice, "[notify.webhook]\nurl = \"\(receiver.url())/T0KEN\"\ntimeout = \"5s\"")
        let first = try GatehouseProcess.run(["notify", "test", "--home", pair.practice])
        #expect(first.status == 13 && first.stdout.contains("webhook: FAILED: HTTP 500"),
                "\(first.stdout)\(first.stderr)")
        let second = try GatehouseProcess.run(["notify", "test", "--home", pair.practice, "--event", "delivery.failed"])
        #expect(second.status == 0 && second.stdout.contains("webhook: sent (HTTP/1.1 200 OK)"),
                "\(second.stdout)\(second.stderr)")
        let event = try #require(receiver.events.last)
        #expect(event["test"] as? Bool == true && event["event"] as? String == "delivery.failed")
        let shown = try GatehouseProcess.run(["config", "check", "--home", pair.practice])
        #expect(shown.stdout.contains("notify.webhook.url         http://127.0.0.1:\(receiver.port)/…"),
                "\(shown.stdout)")
        #expect(!shown.stdout.contains("T0KEN") && shown.stdout.contains("notify.command             (none)"))
        let unknown = try GatehouseProcess.run(["notify", "test", "--home", pair.practice, "--event", "pack.lost"])
        #expect(unknown.status == 64 && unknown.stderr.contains("unknown event 'pack.lost'"), "\(unknown.stderr)")
    }

    /// `gatehouse doctor` warns about a target that cannot work: a certificate from an untrusted
    /// authority, a command that is not there; and says OK for one that answers (nothing posted).
    @Test func doctorChecksTheNotifyTargets() throws {
        let pair = try DaemonPair()
        let certificates = try TestCertificates()
        let rogue = try WebhookReceiver(certificate: certificates.path("rogue.pem"), key: certificates.path("rogue.key"))
        try configure(pair.practice, """
            [notify.command]
            argv = ["/nonexistent/gatehouse-page"]
            [notify.webhook]
            url = "\(rogue.url(host: "localhost", secure: true))"
            ca_file = "\(certificates.path("ca.pem"))"
            """)
        let doctor = try GatehouseProcess.run(["doctor", "--home", pair.practice])
        let lines = doctor.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("WARNING  notify command: /nonexistent/gatehouse-page is missing") },
                "\(doctor.stdout)")
        #expect(lines.contains { $0.hasPrefix("WARNING  notify webhook: TLS handshake") && $0.contains("certificate") },
                "\(doctor.stdout)")
        #expect(rogue.requests.isEmpty)
        let good = try WebhookReceiver(certificate: certificates.path("localhost.pem"), key: certificates.path("localhost.key"))
        let config = try String(contentsOfFile: pair.practice + "/gatehouse.toml", encoding: .utf8)
        try config.replacingOccurrences(of: "\(rogue.port)", with: "\(good.port)")
            .write(toFile: pair.practice + "/gatehouse.toml", atomically: true, encoding: .utf8)
        let again = try GatehouseProcess.run(["doctor", "--home", pair.practice])
        #expect(again.stdout.contains("OK       notify webhook: localhost:\(good.port) answers, its certificate verified"),
                "\(again.stdout)")
        #expect(good.requests.isEmpty)
    }
}
