import Foundation
import GatehouseTesting
import Testing

/// Issue 13, vulnerability 2 through a real relay (`gatehouse relay run`, OpenSSH's sshd, the
/// forced `gatehouse sftp-server`), with OpenSSH's own sftp client and each organisation's own
/// SSH key: B82002, registered on the same relay, cannot remove, replace or look at the prison's
/// revocation in A81001's mailbox, and its attempts land in the relay's refusal log.
@Suite("an insider through a real relay")
struct RelayInsiderEndToEndTests {
    let folder: TemporaryDirectory
    let relay: String

    init() throws {
        folder = try TemporaryDirectory()
        relay = folder.appending("relay")
    }

    func gatehouse(_ arguments: String...) throws -> ProcessOutput { try GatehouseProcess.run(arguments) }

    /// A registered organisation's home.
    func register(_ org: String, address: String) throws -> String {
        let home = folder.appending(org)
        let card = folder.appending("\(org).card")
        #expect(
            try gatehouse("init", "--home", home, "--org", org, "--name", "Org \(org)", "--mailbox", address).status
                == 0)
        #expect(try gatehouse("identity", "export", "--home", home, "-o", card).status == 0)
        #expect(try gatehouse("relay", "add", "--home", relay, card, "--yes").status == 0)
        return home
    }

    /// Runs OpenSSH's `sftp -b` with `commands` as the organisation of `home`, with its SSH key.
    func sftp(_ home: String, port: Int, _ commands: [String]) throws -> ProcessOutput {
        let keys = try FileManager.default.contentsOfDirectory(atPath: home + "/keys").filter {
            $0.hasPrefix("ssh-") && $0.hasSuffix(".key")
        }
        let batch = folder.appending("batch-\(UUID().uuidString)")
        try commands.joined(separator: "\n").write(toFile: batch, atomically: true, encoding: .utf8)
        let knownHosts = folder.appending("known_hosts")
        let hostKey = try String(contentsOfFile: relay + "/ssh_host_ed25519_key.pub", encoding: .utf8).split(
            separator: " "
        ).prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostKey)\n".write(toFile: knownHosts, atomically: true, encoding: .utf8)
        return try GatehouseProcess.runProgram(
            "/usr/bin/sftp",
            [
                "-b", batch, "-P", "\(port)", "-i", "\(home)/keys/\(try #require(keys.first))", "-o",
                "IdentitiesOnly=yes",
                "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "StrictHostKeyChecking=yes",
                "\(NSUserName())@127.0.0.1",
            ], home: folder.path)
    }

    @Test func anInsiderCannotSuppressARevocationAndTheRelayLogsWhyItWasRefused() throws {
        let port = try SSHServer.freePort()
        #expect(try gatehouse("relay", "init", "--home", relay, "--listen", "127.0.0.1:\(port)").status == 0)
        let address = try gatehouse("relay", "address", "--home", relay).stdout.trimmingCharacters(in: .newlines)
        _ = try register("A81001", address: address)
        let prison = try register("YOI123", address: address)
        let insider = try register("B82002", address: address)
        let running = try DaemonProcess(home: relay, command: ["relay", "run"])
        #expect(eventually(timeout: 10) { SSHServer.accepts(port) }, "\(running.logText)")
        #expect(running.logText.contains("refusals are logged in \(relay)/log/sftp-server.log"), "\(running.logText)")
        let manifest = folder.appending("YOI123.2.ghk")
        try Data("the prison's key manifest 2, revoking a compromised key".utf8).write(
            to: URL(fileURLWithPath: manifest))

        let sent = try sftp(
            prison, port: port, ["put \(manifest) /A81001/.m.part", "rename /A81001/.m.part /A81001/YOI123.2.ghk"])
        #expect(sent.status == 0, "\(sent.stderr)")
        // The attack as it was run: the same bytes under the same name, then remove it.
        let attack = try sftp(
            insider, port: port,
            [
                "put \(manifest) /A81001/.copy.part", "-rename /A81001/.copy.part /A81001/YOI123.2.ghk",
                "-rm /A81001/YOI123.2.ghk", "-ls -l /A81001/YOI123.2.ghk", "-get /A81001/YOI123.2.ghk stolen",
                "put \(manifest) /A81001/.other.part", "-rename /A81001/.other.part /A81001/YOI123.3.ghk",
            ])
        #expect(attack.status == 0, "\(attack.stderr)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: relay + "/mailboxes/A81001/YOI123.2.ghk"))
                == Data(contentsOf: URL(fileURLWithPath: manifest)))
        #expect(try FileManager.default.contentsOfDirectory(atPath: relay + "/mailboxes/A81001") == ["YOI123.2.ghk"])
        #expect(!FileManager.default.fileExists(atPath: folder.appending("stolen")))
        // The reasons are the operator's, not the insider's.
        #expect(!(attack.stdout + attack.stderr).contains("only YOI123 may publish"))
        #expect(running.stop() != nil)
        let log = try String(contentsOfFile: relay + "/log/sftp-server.log", encoding: .utf8)
        for expected in [
            "B82002: refused posix-rename@openssh.com \"/A81001/.copy.part -> /A81001/YOI123.2.ghk\": "
                + "YOI123.2.ghk is a name only YOI123 may publish",
            "B82002: refused remove \"/A81001/YOI123.2.ghk\": nothing is removed in another organisation's mailbox, "
                + "except this session's unfinished uploads",
            "B82002: refused posix-rename@openssh.com \"/A81001/.other.part -> /A81001/YOI123.3.ghk\"",
        ] {
            #expect(log.contains(expected), "\(log)")
        }
        #expect(!log.contains("YOI123: refused posix-rename"), "the prison's own delivery was not refused: \(log)")
    }
}
