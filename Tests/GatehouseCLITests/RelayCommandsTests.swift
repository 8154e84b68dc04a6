import Foundation
import GatehouseTesting
import Testing

/// `gatehouse relay init/address/add/run` and `gatehouse deliver`, through the binary.
@Suite("gatehouse relay (end to end)")
struct RelayCommandsTests {
    let folder: TemporaryDirectory
    let relay: String

    init() throws {
        folder = try TemporaryDirectory()
        relay = folder.appending("relay")
    }

    func gatehouse(_ arguments: String..., stdin: String? = nil) throws -> ProcessOutput {
        try GatehouseProcess.run(arguments, stdin: stdin)
    }

    /// A new organisation's home and its exported card.
    func organisation(_ org: String, mailbox: String) throws -> (home: String, card: String) {
        let home = folder.appending(org)
        let made = try gatehouse("init", "--home", home, "--org", org, "--name", "Org \(org)", "--mailbox", mailbox)
        #expect(made.status == 0, "\(made.stderr)")
        let card = folder.appending("\(org).card")
        #expect(try gatehouse("identity", "export", "--home", home, "-o", card).status == 0)
        return (home, card)
    }

    @Test func initPrintsTheAddressAndIsNeverRepeated() throws {
        let made = try gatehouse("relay", "init", "--home", relay, "--listen", "127.0.0.1:2222", "--public-address", "relay.example.org:2022")
        #expect(made.status == 0, "\(made.stderr)")
        let address = try gatehouse("relay", "address", "--home", relay).stdout.trimmingCharacters(in: .newlines)
        #expect(address.hasPrefix("sftp://") && address.contains("@relay.example.org:2022 ssh-ed25519 AAAA"), "\(address)")
        #expect(made.stdout.contains(address))
        // The host key file is private; the address carries its public half.
        let attributes = try FileManager.default.attributesOfItem(atPath: relay + "/ssh_host_ed25519_key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let key = try String(contentsOfFile: relay + "/ssh_host_ed25519_key", encoding: .utf8)
        let again = try gatehouse("relay", "init", "--home", relay, "--listen", "127.0.0.1:2223")
        #expect(again.status == 10)
        #expect(again.stderr.contains("already a relay"), "\(again.stderr)")
        #expect(try String(contentsOfFile: relay + "/ssh_host_ed25519_key", encoding: .utf8) == key)
    }

    @Test func usageAndMissingRelayErrorsAreClear() throws {
        let bad = try gatehouse("relay", "init", "--home", relay, "--listen", "no-port-here")
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("HOST:PORT"), "\(bad.stderr)")
        let missing = try gatehouse("relay", "address", "--home", relay)
        #expect(missing.status == 10)
        #expect(missing.stderr.contains("gatehouse relay init"), "\(missing.stderr)")
        let badAddress = try gatehouse("init", "--home", folder.appending("x"), "--org", "A81001", "--name", "X", "--mailbox", "sftp://relay.example.org:2222")
        #expect(badAddress.status == 64)
        #expect(badAddress.stderr.contains("host key"), "\(badAddress.stderr)")
    }

    @Test func addRegistersAConfirmedCardWithAForcedCommand() throws {
        #expect(try gatehouse("relay", "init", "--home", relay, "--listen", "127.0.0.1:2222", "--quota-files", "50",
                              "--sender-quota-files", "20").status == 0)
        let address = try gatehouse("relay", "address", "--home", relay).stdout.trimmingCharacters(in: .newlines)
        let practice = try organisation("A81001", mailbox: address)
        // Not confirmed: nothing registered.
        let refused = try gatehouse("relay", "add", "--home", relay, practice.card, stdin: "n\n")
        #expect(refused.status == 11, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: relay + "/mailboxes/A81001"))
        let added = try gatehouse("relay", "add", "--home", relay, practice.card, stdin: "y\n")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("ssh key:        ed25519 SHA256:"))
        var isFolder: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: relay + "/mailboxes/A81001", isDirectory: &isFolder) && isFolder.boolValue)
        let keys = try String(contentsOfFile: relay + "/authorized_keys", encoding: .utf8)
        let card = try String(contentsOfFile: practice.card, encoding: .utf8)
        let sshKey = card.components(separatedBy: "\nssh-key: ")[1].components(separatedBy: "\n")[0]
        #expect(keys.contains("sftp-server --org A81001 --root '\(relay)/mailboxes' --log '\(relay)/log/sftp-server.log' "
                              + "--relay-pid-file '\(relay)/sshd.pid' --quota-bytes 10737418240 --quota-files 50 "
                              + "--sender-quota-bytes 2147483648 --sender-quota-files 20"
                              + "\",restrict \(sshKey) gatehouse:A81001"), "\(keys)")
        // The same card again changes nothing.
        let same = try gatehouse("relay", "add", "--home", relay, practice.card, "--yes")
        #expect(same.status == 0 && same.stdout.contains("already registered"), "\(same.stdout)")
        // Another organisation with the same ODS code (another root) needs --replace.
        let impostorHome = folder.appending("impostor")
        #expect(try gatehouse("init", "--home", impostorHome, "--org", "A81001", "--name", "Impostor").status == 0)
        let impostorCard = folder.appending("impostor.card")
        #expect(try gatehouse("identity", "export", "--home", impostorHome, "-o", impostorCard).status == 0)
        let conflict = try gatehouse("relay", "add", "--home", relay, impostorCard, "--yes")
        #expect(conflict.status != 0)
        #expect(conflict.stderr.contains("another root key"), "\(conflict.stderr)")
        #expect(try String(contentsOfFile: relay + "/authorized_keys", encoding: .utf8) == keys)
    }

    @Test func runWritesALockedDownSSHDConfigAndExplainsAMissingSSHD() throws {
        #expect(try gatehouse("relay", "init", "--home", relay, "--listen", "127.0.0.1:2222").status == 0)
        let run = try gatehouse("relay", "run", "--home", relay, "--sshd", folder.appending("no-such-sshd"))
        #expect(run.status == 13)
        #expect(run.stderr.contains("openssh-server"), "\(run.stderr)")
        let config = try String(contentsOfFile: relay + "/sshd_config", encoding: .utf8)
        for line in ["PasswordAuthentication no", "KbdInteractiveAuthentication no", "AuthenticationMethods publickey",
                     "DisableForwarding yes", "PermitTTY no", "ListenAddress 127.0.0.1", "Port 2222", "Subsystem sftp /bin/false"] {
            #expect(config.contains("\n\(line)\n"), "sshd_config lacks \(line)")
        }
    }

    @Test func deliverUploadsAHandSealedBundleAndExplainsAnUnreachableRelay() throws {
        let port = try SSHServer.freePort()
        #expect(try gatehouse("relay", "init", "--home", relay, "--listen", "127.0.0.1:\(port)").status == 0)
        let address = try gatehouse("relay", "address", "--home", relay).stdout.trimmingCharacters(in: .newlines)
        let practice = try organisation("A81001", mailbox: address)
        let prison = try organisation("YOI123", mailbox: address)
        #expect(try gatehouse("partners", "add", "--home", practice.home, prison.card, "--yes").status == 0)
        for card in [practice.card, prison.card] { #expect(try gatehouse("relay", "add", "--home", relay, card, "--yes").status == 0) }
        let letter = folder.appending("letter.txt")
        try Data("<letter nhs=\"9990000050\">Jo Example</letter>".utf8).write(to: URL(fileURLWithPath: letter))
        let bundle = folder.appending("letter.ghb")
        #expect(try gatehouse("seal", "--home", practice.home, "--to", "YOI123", "-o", bundle, letter).status == 0)
        // The relay is not running yet.
        let down = try gatehouse("deliver", "--home", practice.home, bundle)
        #expect(down.status == 13)
        #expect(down.stderr.contains("refused the connection"), "\(down.stderr)")
        let running = try DaemonProcess(home: relay, command: ["relay", "run"])
        #expect(eventually(timeout: 10) { SSHServer.accepts(port) }, "\(running.logText)")
        let delivered = try gatehouse("deliver", "--home", practice.home, bundle)
        #expect(delivered.status == 0, "\(delivered.stderr)")
        #expect(delivered.stdout.contains("to YOI123's mailbox"))
        let inbox = try FileManager.default.contentsOfDirectory(atPath: relay + "/mailboxes/YOI123")
        #expect(inbox.count == 1 && inbox[0].hasSuffix(".ghb"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: relay + "/mailboxes/YOI123/" + inbox[0])) == Data(contentsOf: URL(fileURLWithPath: bundle)))
        // Only bundles this organisation sealed.
        let foreign = try gatehouse("deliver", "--home", prison.home, bundle)
        #expect(foreign.status == 5, "\(foreign.stderr)")
        #expect(running.stop() != nil)
    }
}
