import Foundation
import GatehouseTesting
import Testing

/// `gatehouse doctor` against a real `gatehouse relay`: it logs in as the daemon does, so a key
/// the relay does not know, a host key other than the pinned one, or a partner missing from the
/// relay is a PROBLEM that names its fix (a greeting alone said OK to each of these).
@Suite("gatehouse doctor: relay sessions", .serialized)
struct DoctorRelayTests {
    func doctor(_ home: String) throws -> ProcessOutput {
        try GatehouseProcess.run(["doctor", "--home", home, "--timeout", "3"])
    }

    func line(_ prefix: String, in out: ProcessOutput) -> String {
        out.stdout.split(separator: "\n").map(String.init).first { $0.hasPrefix(prefix) } ?? "(none in \(out.stdout))"
    }

    /// The relay forgets `org`: its line leaves `authorized_keys` (sshd reads the file at each login).
    func unregister(_ org: String, at relay: String) throws {
        let path = relay + "/authorized_keys"
        let kept = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .filter { !$0.contains("--org \(org)") }
        try (kept.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func aKeyNotRegisteredAtTheRelayIsAProblemNamingRelayAdd() throws {
        let pair = try DaemonPair(viaRelay: true)
        try pair.startRelay()
        try unregister("A81001", at: try #require(pair.relay))
        let out = try doctor(pair.practice)
        #expect(out.status == 16, "\(out.stdout)\(out.stderr)")
        let problem = line("PROBLEM  mailbox A81001,YOI123: ", in: out)
        #expect(problem.contains("answers (\"SSH-2.0-OpenSSH"), "\(problem)")
        #expect(problem.contains("but no session: the relay at 127.0.0.1:"), "\(problem)")
        #expect(problem.contains("refused this organisation's SSH key"), "\(problem)")
        #expect(problem.contains("— at the relay, its operator registers A81001's identity card with `gatehouse relay add CARD`"),
                "\(problem)")
        // The advice once, in the fix: not also in the message.
        #expect(problem.components(separatedBy: "relay add CARD").count == 2, "\(problem)")
        #expect(line("WARNING  clock skew: ", in: out).contains("not measured"))
        #expect(!out.stdout.contains("OK       mailbox"), "\(out.stdout)")
    }

    @Test func aPartnerMissingFromTheRelayIsAProblemForThatMailboxOnly() throws {
        let pair = try DaemonPair(viaRelay: true)
        try pair.startRelay()
        // YOI123 was never registered here (or was removed): no mailbox, no key.
        let relay = try #require(pair.relay)
        try unregister("YOI123", at: relay)
        try FileManager.default.removeItem(atPath: pair.mailboxes + "/YOI123")
        let out = try doctor(pair.practice)
        #expect(out.status == 16, "\(out.stdout)\(out.stderr)")
        #expect(line("OK       mailbox A81001: ", in: out).contains("logged in"), "\(out.stdout)")
        let problem = line("PROBLEM  mailbox YOI123: ", in: out)
        #expect(problem.contains("refused a probe file from A81001 in YOI123's mailbox"), "\(problem)")
        #expect(problem.contains("the relay's operator registers YOI123 with `gatehouse relay add CARD`"), "\(problem)")
        #expect(pair.listing(pair.mailboxes + "/A81001").isEmpty)
    }

    @Test func aWrongPinnedHostKeyIsAProblemShowingBothFingerprints() throws {
        let pair = try DaemonPair(viaRelay: true)
        try pair.startRelay()
        let relay = try #require(pair.relay)
        let real = try GatehouseProcess.run(["relay", "address", "--home", relay]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Another relay's host key, pinned for the own mailbox at the real relay's host and port.
        let other = pair.folder.appending("other-relay")
        let listen = "127.0.0.1:\(try SSHServer.freePort())"
        #expect(try GatehouseProcess.run(["relay", "init", "--home", other, "--listen", listen]).status == 0)
        let otherAddress = try GatehouseProcess.run(["relay", "address", "--home", other]).stdout
        let otherKey = try #require(otherAddress.range(of: " ssh-ed25519 ")).lowerBound
        let realKey = try #require(real.range(of: " ssh-ed25519 ")).lowerBound
        let forged = String(real[..<realKey]) + " "
            + otherAddress[otherKey...].trimmingCharacters(in: .whitespacesAndNewlines)
        let config = pair.practice + "/gatehouse.toml"
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "[organisation]\n", with: "[organisation]\nmailbox = \"\(forged)\"\n")
        try text.write(toFile: config, atomically: true, encoding: .utf8)

        let out = try doctor(pair.practice)
        #expect(out.status == 16, "\(out.stdout)\(out.stderr)")
        // YOI123's mailbox is at the real address: logged in with the right pin, which it shows.
        let partner = line("OK       mailbox YOI123: ", in: out)
        let shown = try #require(partner.range(of: "host key SHA256:")).upperBound
        let realPrint = "SHA256:" + partner[shown...].prefix { $0 != " " }
        let problem = line("PROBLEM  mailbox A81001: ", in: out)
        #expect(problem.contains("presented host key \(realPrint), but the mailbox address pins SHA256:"), "\(problem)")
        #expect(problem.contains("— expected host key SHA256:") && problem.contains(", presented \(realPrint): if the relay's key"),
                "\(problem)")
        #expect(!problem.contains("expected host key \(realPrint)"), "\(problem)")
        #expect(pair.listing(pair.mailboxes + "/A81001").isEmpty)
    }
}
