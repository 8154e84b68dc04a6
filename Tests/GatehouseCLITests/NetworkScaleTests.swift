import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// Issue 16's scenario: 300 organisations admitted to one network, one relay following it, three
/// running gateways that never exchanged cards. A practice sends a pack to a prison and gets its
/// receipt; a revoked organisation is refused; the relay follows admissions and revocations.
@Suite("the directory at 300 organisations (end to end)")
struct NetworkScaleTests {
    let folder: TemporaryDirectory
    let relay: String, authority: GatehouseHome

    init() throws {
        folder = try TemporaryDirectory()
        relay = folder.appending("relay")
        authority = GatehouseHome(path: folder.appending("authority"))
    }

    @discardableResult
    func expectSuccess(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessOutput
    {
        let result = try GatehouseProcess.run(arguments)
        #expect(
            result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)", sourceLocation: sourceLocation)
        return result
    }

    /// One of the 297 organisations that only exist in the directory: its own keys, from test labels.
    static func synthetic(_ i: Int, now: UInt64) throws -> IdentityCard {
        let code = "C" + String(repeating: "0", count: 5 - String(i).count) + String(i)
        func key(_ role: String) -> SigningSecretKey {
            try! SigningSecretKey(seed: TestOrganisation.testSeed("scale-\(i)-\(role)"))
        }
        return try IdentityCard.make(
            org: try ODSCode(code), name: "Scale Practice \(i)", root: key("root"),
            signingKey: key("signing").publicKey,
            encryptionKey: try AgreementSecretKey(secret: TestOrganisation.testSeed("scale-\(i)-encryption")).publicKey,
            created: now, sshKey: key("ssh").publicKey, mailbox: "sftp://gatehouse@relay.nhs.example:2222")
    }

    @Test func threeGatewaysThatNeverExchangedCardsAmong300() throws {
        let port = try SSHServer.freePort()
        try expectSuccess(["relay", "init", "--home", relay, "--listen", "127.0.0.1:\(port)"])
        let address = try expectSuccess(["relay", "address", "--home", relay]).stdout.trimmingCharacters(in: .newlines)
        let card = try NetworkAuthority.initialise(home: authority, name: "directory.nhs.example/scale")
        let network = NetworkAuthority(home: authority)
        let now = KeyStore.now()
        for i in 0..<297 {
            try network.stage(
                try DirectoryEntry.admit(try Self.synthetic(i, now: now), validFrom: now - 60, validUntil: now + 86_400)
            )
        }
        var homes: [String: String] = [:]
        for (org, name) in [
            ("A81001", "Riverside Medical Practice"), ("YOI123", "HMP Northgate Healthcare"),
            ("B82002", "Hillside Surgery"),
        ] {
            let home = folder.appending(org)
            try expectSuccess(["init", "--home", home, "--org", org, "--name", name, "--mailbox", address])
            var config = try String(contentsOfFile: home + "/gatehouse.toml", encoding: .utf8)
            for (key, value) in [("poll_interval", "100ms"), ("stable_window", "300ms"), ("retry_max", "1s")] {
                config = config.replacingOccurrences(
                    of: #"(?m)^\#(key) = .*$"#, with: "\(key) = \"\(value)\"", options: .regularExpression)
            }
            try config.write(toFile: home + "/gatehouse.toml", atomically: true, encoding: .utf8)
            let own = try KeyStore(home: GatehouseHome(path: home)).loadOwnCard()
            try network.stage(try DirectoryEntry.admit(own, validFrom: now - 60, validUntil: now + 86_400))
            homes[org] = home
        }
        _ = try network.publish(key: try network.loadRootKey(), mirrors: [relay + "/directory"])
        let networkCard = folder.appending("scale.network-card")
        try Data(card.text.utf8).write(to: URL(fileURLWithPath: networkCard))
        #expect(
            try expectSuccess(["relay", "follow", "--home", relay, networkCard, "--yes"]).stdout.contains(
                "Registered 300, removed 0"))

        let relayProcess = try DaemonProcess(home: relay, command: ["relay", "run"])
        #expect(eventually(timeout: 10) { SSHServer.accepts(port) }, "\(relayProcess.logText)")
        var daemons: [DaemonProcess] = []
        for home in homes.values {
            try expectSuccess(["network", "join", "--home", home, networkCard, "--yes"])
            try expectSuccess(["network", "sync", "--home", home])
            daemons.append(try DaemonProcess(home: home))
        }
        let record = try folder.write(
            "summary.xml", Array("<summary nhs=\"9990000018\">Medication reviewed</summary>".utf8))
        let sent = try GatehouseProcess.run([
            "send", record, "--to", "YOI123", "--home", homes["A81001"]!, "--wait", "--timeout", "60s",
        ])
        #expect(sent.status == 0, "\(sent.stdout)\(sent.stderr)")
        #expect(sent.stdout.contains("acknowledged") || sent.stdout.contains("processed"), "\(sent.stdout)")

        // B82002 is revoked: the relay takes its key off, and the prison refuses what it sealed.
        let hillside = try KeyStore(home: GatehouseHome(path: homes["B82002"]!)).loadOwnCard()
        try network.stage(
            try DirectoryEntry.revoke(org: hillside.org, rootKey: hillside.rootKey, at: now, reason: "closed"))
        _ = try network.publish(key: try network.loadRootKey(), mirrors: [relay + "/directory"])
        #expect(try expectSuccess(["relay", "follow", "--home", relay]).stdout.contains("removed 1"))
        #expect(!(try String(contentsOfFile: relay + "/authorized_keys", encoding: .utf8)).contains("gatehouse:B82002"))
        try expectSuccess(["network", "sync", "--home", homes["YOI123"]!])
        let bundle = folder.appending("from-revoked.ghb")
        try expectSuccess(["seal", "--home", homes["B82002"]!, "--to", "YOI123", "-o", bundle, record])
        let refused = try GatehouseProcess.run([
            "open", "--home", homes["YOI123"]!, bundle, "-o", folder.appending("never"),
        ])
        #expect(refused.status == 4, "\(refused.stderr)")
        for daemon in daemons { #expect(daemon.stop() == 0) }
        #expect(relayProcess.stop() != nil)
    }
}
