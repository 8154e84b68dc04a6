import Foundation
import Glibc
import GatehouseKit
import GatehouseTesting
import Testing

/// `relay remove ODS` on a running relay: the organisation's key leaves authorized_keys, its open
/// session ends at its next request, nobody can deliver to it, and its mailbox and card are kept.
@Suite("gatehouse relay remove (end to end)")
struct RelayRemoveTests {
    @Test func removingAnOrganisationEndsItsAccessAndKeepsItsMail() throws {
        let folder = try TemporaryDirectory()
        let relay = folder.appending("relay"), port = try SSHServer.freePort()
        func gatehouse(_ arguments: String..., stdin: String? = nil) throws -> ProcessOutput {
            try GatehouseProcess.run(arguments, stdin: stdin)
        }
        #expect(try gatehouse("relay", "init", "--home", relay, "--listen", "127.0.0.1:\(port)").status == 0)
        let address = try gatehouse("relay", "address", "--home", relay).stdout.trimmingCharacters(in: .newlines)
        var keys: [String: String] = [:]
        for (org, name) in [("A81001", "Riverside Medical Practice"), ("Q12345", "Quayside Test Clinic")] {
            let home = folder.appending(org), card = folder.appending("\(org).card")
            try GatehouseProcess.initialise(home, org: org, name: name, mailbox: address)
            #expect(try gatehouse("identity", "export", "--home", home, "-o", card).status == 0)
            #expect(try gatehouse("relay", "add", "--home", relay, card, "--yes").status == 0)
            keys[org] = try KeyStore(home: GatehouseHome(path: home)).sshKeyFile()
        }
        try Data("a bundle for Q12345".utf8).write(to: URL(fileURLWithPath: relay + "/mailboxes/Q12345/waiting.ghb"))
        let running = try DaemonProcess(home: relay, command: ["relay", "run"])
        #expect(eventually(timeout: 10) { SSHServer.accepts(port) }, "\(running.logText)")
        let user = String(address.dropFirst("sftp://".count).prefix { $0 != "@" })

        // Q12345's gateway has a session open, serving.
        let session = try OpenSSHSession(key: keys["Q12345"]!, port: port, user: user, folder: folder)
        #expect(eventually(timeout: 20) { session.isServing })

        let refused = try gatehouse("relay", "remove", "--home", relay, "Q12345", stdin: "n\n")
        #expect(refused.status == 11, "\(refused)")
        #expect(refused.stdout.contains("WARNING: 1 file(s) wait in Q12345's mailbox"), "\(refused)")
        #expect(FileManager.default.fileExists(atPath: relay + "/mailboxes/Q12345/waiting.ghb"))
        let removed = try gatehouse("relay", "remove", "--home", relay, "q12345", "--yes")
        #expect(removed.status == 0, "\(removed.stderr)")

        // Its key is gone; its mail is kept beside its card.
        let authorized = try String(contentsOfFile: relay + "/authorized_keys", encoding: .utf8)
        #expect(!authorized.contains("Q12345") && authorized.contains("--org A81001"), "\(authorized)")
        let kept = try FileManager.default.contentsOfDirectory(atPath: relay + "/removed")
        #expect(kept.count == 1 && kept[0].hasPrefix("Q12345-"), "\(kept)")
        let place = relay + "/removed/" + (kept.first ?? "")
        let mail = FileManager.default.contents(atPath: place + "/mailbox/waiting.ghb")
        #expect(mail == Data("a bundle for Q12345".utf8))
        #expect(FileManager.default.fileExists(atPath: place + "/Q12345.card"))
        #expect(!FileManager.default.fileExists(atPath: relay + "/mailboxes/Q12345"))

        // The open session ends at its next request (SSH_FXP_REALPATH "."), without an answer.
        let before = session.answered
        #expect(session.send([0, 0, 0, 10, 16, 0, 0, 0, 1, 0, 0, 0, 1, 0x2E]))
        #expect(eventually(timeout: 20) { !session.isOpen }, "the removed organisation's session went on")
        #expect(session.answered == before)
        // It can no longer log in; A81001 still can (its session ends at once: no input).
        func login(_ org: String) throws -> ProcessOutput {
            try GatehouseProcess.runProgram("/usr/bin/ssh", OpenSSHSession.options
                                            + ["-i", keys[org]!, "-p", "\(port)", "-s", "\(user)@127.0.0.1", "sftp"],
                                            timeout: 60)
        }
        let denied = try login("Q12345")
        #expect(denied.status == 255 && denied.stderr.contains("Permission denied"), "\(denied)")
        #expect(try login("A81001").status == 0)
        let audit = try String(contentsOfFile: relay + "/audit/audit.jsonl", encoding: .utf8)
        #expect(audit.contains("\"event\":\"relay-registered\"") && audit.contains("\"event\":\"relay-removed\""),
                "\(audit)")
        #expect(try gatehouse("relay", "remove", "--home", relay, "Q12345", "--yes").status == 11)
        #expect(running.stop() != nil)
    }
}
