import Foundation
import GatehouseTesting
import Testing

/// The directory served by a real OpenSSH relay (docs/DIRECTORY.md §5, §7): gateways that never
/// exchanged cards fetch it over SFTP, verify it, and deliver to each other through the relay.
@Suite("gatehouse network sync over a relay (end to end)")
struct NetworkRelayTests {
    let folder: TemporaryDirectory
    let relay: String, authority: String

    init() throws {
        folder = try TemporaryDirectory()
        relay = folder.appending("relay")
        authority = folder.appending("authority")
    }

    @discardableResult
    func expectSuccess(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessOutput
    {
        let result = try GatehouseProcess.run(arguments)
        #expect(
            result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)", sourceLocation: sourceLocation)
        return result
    }

    /// A gateway on the relay: initialised with the relay's address, registered there, admitted to
    /// the network and joined to it.
    func gateway(_ org: String, address: String, networkCard: String) throws -> String {
        let home = folder.appending(org)
        try expectSuccess(["init", "--home", home, "--org", org, "--name", "Org \(org)", "--mailbox", address])
        let card = folder.appending("\(org).card")
        try expectSuccess(["identity", "export", "--home", home, "-o", card])
        try expectSuccess(["relay", "add", "--home", relay, card, "--yes"])
        try expectSuccess(["network", "admit", "--home", authority, card, "--yes"])
        try expectSuccess(["network", "join", "--home", home, networkCard, "--yes"])
        return home
    }

    /// A relay on a free port and a network `name`: the relay's port and address, and the network card.
    func relayAndNetwork(_ name: String) throws -> (port: Int, address: String, networkCard: String) {
        let port = try SSHServer.freePort()
        try expectSuccess(["relay", "init", "--home", relay, "--listen", "127.0.0.1:\(port)"])
        let address = try expectSuccess(["relay", "address", "--home", relay]).stdout.trimmingCharacters(in: .newlines)
        try expectSuccess(["network", "init", "--home", authority, "--name", name])
        let networkCard = folder.appending("network.card")
        try expectSuccess(["network", "export-card", "--home", authority, "-o", networkCard])
        return (port, address, networkCard)
    }

    @Test func gatewaysFollowTheRelaysDirectoryAndDeliverWithoutPinning() throws {
        let (port, address, networkCard) = try relayAndNetwork("directory.nhs.example/relay-test")
        let practice = try gateway("A81001", address: address, networkCard: networkCard)
        let prison = try gateway("YOI123", address: address, networkCard: networkCard)
        try expectSuccess(["network", "publish", "--home", authority, "--to", relay + "/directory"])

        let running = try DaemonProcess(home: relay, command: ["relay", "run"])
        #expect(eventually(timeout: 10) { SSHServer.accepts(port) }, "\(running.logText)")
        for home in [practice, prison] {
            let synced = try expectSuccess(["network", "sync", "--home", home])
            #expect(synced.stdout.contains("Verified 2 new entries"), "\(synced.stdout)")
        }
        #expect(try expectSuccess(["network", "sync", "--home", practice]).stdout.contains("up to date: 2 entries"))

        let letter = folder.appending("letter.txt")
        try Data("<letter nhs=\"9990000050\">Jo Example</letter>".utf8).write(to: URL(fileURLWithPath: letter))
        let bundle = folder.appending("letter.ghb")
        try expectSuccess(["seal", "--home", practice, "--to", "YOI123", "-o", bundle, letter])
        try expectSuccess(["deliver", "--home", practice, bundle])
        let inbox = try FileManager.default.contentsOfDirectory(atPath: relay + "/mailboxes/YOI123")
        #expect(inbox.count == 1)
        try expectSuccess([
            "open", "--home", prison, relay + "/mailboxes/YOI123/" + inbox[0], "-o", folder.appending("opened"),
        ])

        // The relay's operator changes one byte of an entry: the gateway refuses it and keeps
        // what it trusted.
        let outsider = try gateway("B82002", address: address, networkCard: networkCard)
        try expectSuccess(["network", "publish", "--home", authority, "--to", relay + "/directory"])
        let bundleFile = relay + "/directory/tile/entries/000.p/3"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: bundleFile)))
        bytes[bytes.count - 10] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: bundleFile))
        let refused = try GatehouseProcess.run(["network", "sync", "--home", practice])
        #expect(refused.status != 0, "\(refused.stdout)")
        #expect(try expectSuccess(["network", "show", "--home", practice]).stdout.contains("entries:        2"))
        let fresh = try GatehouseProcess.run(["network", "sync", "--home", outsider])
        #expect(fresh.status != 0)
        #expect(running.stop() != nil)
    }
}

extension NetworkRelayTests {
    @Test func aRelayFollowsAdmissionsAndRevocations() throws {
        try expectSuccess(["relay", "init", "--home", relay, "--listen", "127.0.0.1:\(try SSHServer.freePort())"])
        let address = try expectSuccess(["relay", "address", "--home", relay]).stdout.trimmingCharacters(in: .newlines)
        try expectSuccess(["network", "init", "--home", authority, "--name", "directory.nhs.example/follow-test"])
        let networkCard = folder.appending("network.card")
        try expectSuccess(["network", "export-card", "--home", authority, "-o", networkCard])
        var cards: [String: String] = [:]
        for org in ["A81001", "YOI123", "XHM01"] {
            let home = folder.appending(org)
            try expectSuccess(["init", "--home", home, "--org", org, "--name", "Org \(org)", "--mailbox", address])
            cards[org] = folder.appending("\(org).card")
            try expectSuccess(["identity", "export", "--home", home, "-o", cards[org]!])
        }
        // XHM01 is registered by hand; the others only through the directory.
        try expectSuccess(["relay", "add", "--home", relay, cards["XHM01"]!, "--yes"])
        for org in ["A81001", "YOI123", "XHM01"] {
            try expectSuccess(["network", "admit", "--home", authority, cards[org]!, "--yes"])
        }
        try expectSuccess(["network", "publish", "--home", authority, "--to", relay + "/directory"])

        let first = try expectSuccess(["relay", "follow", "--home", relay, networkCard, "--yes"])
        #expect(first.stdout.contains("Registered 2, removed 0"), "\(first.stdout)")
        var keys = try String(contentsOfFile: relay + "/authorized_keys", encoding: .utf8)
        #expect(
            keys.contains("gatehouse:A81001") && keys.contains("gatehouse:YOI123") && keys.contains("gatehouse:XHM01"))
        #expect(try expectSuccess(["relay", "follow", "--home", relay]).stdout.contains("Registered 0, removed 0"))

        for org in ["YOI123", "XHM01"] {
            try expectSuccess(["network", "revoke", "--home", authority, org, "--reason", "left the network"])
        }
        try expectSuccess(["network", "publish", "--home", authority, "--to", relay + "/directory"])
        #expect(try expectSuccess(["relay", "follow", "--home", relay]).stdout.contains("Registered 0, removed 1"))
        keys = try String(contentsOfFile: relay + "/authorized_keys", encoding: .utf8)
        // The directory's registration is gone; the one made by hand stays.
        #expect(
            keys.contains("gatehouse:A81001") && !keys.contains("gatehouse:YOI123") && keys.contains("gatehouse:XHM01"))

        // A directory changed on the relay's disk is refused and nothing changes.
        let checkpoint = relay + "/directory/checkpoint"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        bytes[3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: checkpoint))
        #expect(try GatehouseProcess.run(["relay", "follow", "--home", relay]).status != 0)
        #expect(try String(contentsOfFile: relay + "/authorized_keys", encoding: .utf8) == keys)
    }
}

extension NetworkRelayTests {
    @Test func aRelayFollowingContinuouslyRegistersAnAdmissionAfterPublish() throws {
        try expectSuccess(["relay", "init", "--home", relay, "--listen", "127.0.0.1:\(try SSHServer.freePort())"])
        let address = try expectSuccess(["relay", "address", "--home", relay]).stdout.trimmingCharacters(in: .newlines)
        try expectSuccess(["network", "init", "--home", authority, "--name", "directory.nhs.example/watch"])
        let networkCard = folder.appending("network.card")
        try expectSuccess(["network", "export-card", "--home", authority, "-o", networkCard])
        try expectSuccess(["network", "publish", "--home", authority, "--to", relay + "/directory"])
        let follower = try DaemonProcess(home: relay, command: ["relay", "follow", networkCard, "--yes", "--every", "1"])
        let home = folder.appending("A81001")
        try expectSuccess(["init", "--home", home, "--org", "A81001", "--name", "Org A81001", "--mailbox", address])
        let card = folder.appending("A81001.card")
        try expectSuccess(["identity", "export", "--home", home, "-o", card])
        try expectSuccess(["network", "admit", "--home", authority, card, "--yes"])
        try expectSuccess(["network", "publish", "--home", authority, "--to", relay + "/directory"])
        let registered = eventually(timeout: 20) {
            ((try? String(contentsOfFile: relay + "/authorized_keys", encoding: .utf8)) ?? "").contains("gatehouse:A81001")
        }
        #expect(registered, "\(follower.logText)")
        #expect(follower.stop() != nil)
    }
}

extension NetworkRelayTests {
    /// DIRECTORY.md §7.2, FORMAT.md §3.1: the authority shows the practice one history and the
    /// relay's gateways another of the same size. The practice's first bundle through the relay
    /// carries its checkpoint in the header; the running prison gateway that opens it holds the
    /// proof, says so (log, doctor) and trusts nothing new from the authority.
    @Test func aForkShownToTwoGatewaysIsCaughtThroughOneBundle() throws {
        let (port, address, networkCard) = try relayAndNetwork("directory.nhs.example/split")
        let practice = try gateway("A81001", address: address, networkCard: networkCard)
        let prison = try gateway("YOI123", address: address, networkCard: networkCard)
        try expectSuccess(["network", "publish", "--home", authority, "--to", relay + "/directory"])

        // The same root key signs a third entry two ways: one log for the relay, one for the practice.
        let forked = folder.appending("forked-authority")
        try FileManager.default.copyItem(atPath: authority, toPath: forked)
        for (home, org) in [(authority, "XHM01"), (forked, "B82002")] {
            let other = folder.appending(org)
            try expectSuccess(["init", "--home", other, "--org", org, "--name", "Org \(org)"])
            try expectSuccess(["identity", "export", "--home", other, "-o", other + ".card"])
            try expectSuccess(["network", "admit", "--home", home, other + ".card", "--yes"])
        }
        try expectSuccess(["network", "publish", "--home", authority, "--to", relay + "/directory"])
        let lying = folder.appending("lying-directory")
        try expectSuccess(["network", "publish", "--home", forked, "--to", lying])
        try expectSuccess(["network", "sync", "--home", practice, "--from", lying])

        let running = try DaemonProcess(home: relay, command: ["relay", "run"])
        #expect(eventually(timeout: 10) { SSHServer.accepts(port) }, "\(running.logText)")
        try expectSuccess(["network", "sync", "--home", prison])
        let letter = try folder.write("letter.txt", Array("<letter nhs=\"9990000050\">Jo Example</letter>".utf8))
        let bundle = folder.appending("letter.ghb")
        try expectSuccess(["seal", "--home", practice, "--to", "YOI123", "-o", bundle, letter])
        try expectSuccess(["deliver", "--home", practice, bundle])

        let gateway = try DaemonProcess(home: prison)
        let caught = eventually(timeout: 30) {
            ((try? FileManager.default.contentsOfDirectory(atPath: prison + "/directory/evidence")) ?? [])
                .contains { $0.hasSuffix("-fork.checkpoint") }
        }
        #expect(caught, "\(gateway.logText)")
        #expect(eventually(timeout: 10) { gateway.logText.contains("A81001's bundle header carries a checkpoint") })
        #expect(gateway.stop() == 0)
        #expect(gateway.logText.contains("published"), "\(gateway.logText)")
        let doctor = try GatehouseProcess.run(["doctor", "--home", prison])
        #expect(
            doctor.status == 16 && doctor.stdout.contains("new directory entries are not trusted"), "\(doctor.stdout)")
        let sync = try GatehouseProcess.run(["network", "sync", "--home", prison])
        #expect(sync.status == 8 && sync.stderr.contains("directory halted"), "\(sync.stderr)")
        #expect(running.stop() != nil)
    }
}
