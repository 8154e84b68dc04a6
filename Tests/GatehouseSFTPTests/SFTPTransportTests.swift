import Foundation
import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import GatehouseSFTPClient
import GatehouseTesting
import Testing

/// The sftp:// transport through OpenSSH: a real `sshd` on loopback, OpenSSH's `ssh`, and
/// either OpenSSH's internal-sftp or `gatehouse sftp-server` as the forced command.
@Suite("SFTP transport through OpenSSH", .serialized, .timeLimit(.minutes(3)))
struct SFTPTransportTests {
    let folder: TemporaryDirectory
    let mailboxes: String

    init() throws {
        folder = try TemporaryDirectory(prefix: "gatehouse-transport")
        mailboxes = folder.appending("mailboxes")
        for org in ["A81001", "YOI123"] { try FileManager.default.createDirectory(atPath: "\(mailboxes)/\(org)", withIntermediateDirectories: true) }
    }

    /// An authorized_keys line confining `key` to `gatehouse sftp-server` for `org`.
    func forcedLine(_ key: String, org: String) throws -> String {
        "command=\"\(try GatehouseProcess.binaryPath()) sftp-server --org \(org) --root \(mailboxes)\",restrict \(key)"
    }

    func transport(_ server: SSHServer, key: String, org: String = "A81001", pinning pinned: SigningPublicKey? = nil) throws -> SFTPTransport {
        let ssh = SSHInvocation(identityFile: key, knownHostsFile: folder.appending("known_hosts.\(org).\(UUID().uuidString)"),
                                hostKeyAlias: "gatehouse-mailbox-\(org)")
        return SFTPTransport(address: try server.address(pinning: pinned), ssh: ssh)
    }

    /// A file of `count` random bytes (incompressible, like a bundle).
    func file(_ name: String, _ count: Int, seed: UInt64 = 1) throws -> (path: String, bytes: Data) {
        // A random 1 MiB block, each copy with its index stamped in, so no two MiB are equal.
        var generator = SystemRandomNumberGenerator()
        let block = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var bytes = Data(capacity: count)
        var index: UInt64 = seed << 32
        while bytes.count < count {
            var stamped = block
            withUnsafeBytes(of: index) { stamped.replaceSubrange(0..<8, with: $0) }
            bytes.append(contentsOf: stamped.prefix(count - bytes.count))
            index += 1
        }
        let path = folder.appending(name)
        try bytes.write(to: URL(fileURLWithPath: path))
        return (path, bytes)
    }

    func contents(_ path: String) -> Data? { try? Data(contentsOf: URL(fileURLWithPath: path)) }
    func listing(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    @Test func ourClientAgainstOpenSSHsInternalSFTPThroughSSHD() async throws {
        let key = try SSHServer.makeClientKey(in: folder)
        let server = try SSHServer(authorizedKeys: [key.publicLine])
        let client = try await SFTPClient.connect(executable: "/usr/bin/ssh", arguments: try server.sftpArguments(key: key.file))
        defer { client.connection.close() }
        let remote = folder.appending("plain")
        try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
        let upload = try file("a.ghb", 2_000_003)
        #expect(try await client.upload(upload.path, to: remote, as: "a.ghb") == UInt64(upload.bytes.count))
        #expect(contents("\(remote)/a.ghb") == upload.bytes)
        #expect(try await client.list(remote).map(\.filename) == ["a.ghb"])
        try await client.download("\(remote)/a.ghb", to: folder.appending("back"))
        #expect(contents(folder.appending("back")) == upload.bytes)
        try await client.remove("\(remote)/a.ghb")
        #expect(listing(remote).isEmpty)
    }

    @Test func largeUploadsSurviveFrequentRekeying() async throws {
        let key = try SSHServer.makeClientKey(in: folder)
        let server = try SSHServer(authorizedKeys: [try forcedLine(key.publicLine, org: "A81001")], extraConfig: ["RekeyLimit 1M"])
        let transport = try transport(server, key: key.file)
        defer { Task { await transport.close() } }
        for i in 0..<2 {
            let bundle = try file("big\(i).ghb", 64 << 20, seed: UInt64(i + 7))
            try await transport.deliver(bundle.path, to: ODSCode("YOI123"), as: "big\(i).ghb")
            #expect(contents("\(mailboxes)/YOI123/big\(i).ghb") == bundle.bytes)
        }
        // One session carried both: reused, not reconnected.
        #expect(await transport.connectionAttempts == 1)
    }

    @Test func aConnectionCutMidUploadLeavesNothingAndTheRetryDeliversOnce() async throws {
        let key = try SSHServer.makeClientKey(in: folder)
        let server = try SSHServer(authorizedKeys: [try forcedLine(key.publicLine, org: "A81001")])
        let transport = try transport(server, key: key.file)
        defer { Task { await transport.close() } }
        let bundle = try file("cut.ghb", 48 << 20)
        let inbox = "\(mailboxes)/YOI123"
        var cuts = 0
        for _ in 0..<3 {
            // Cut the SSH connection once part of the upload has reached the relay.
            let cutter = Task.detached { [transport] () -> Bool in
                for _ in 0..<2000 {
                    let partial = ((try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? []).first { $0.hasPrefix(".") }
                    if let partial, let attributes = try? FileManager.default.attributesOfItem(atPath: "\(inbox)/\(partial)"),
                       (attributes[.size] as? Int ?? 0) > 1 << 20, let pid = await transport.sessionProcess() {
                        kill(pid, SIGKILL)
                        return true
                    }
                    try? await Task.sleep(for: .milliseconds(2))
                }
                return false
            }
            do {
                try await transport.deliver(bundle.path, to: ODSCode("YOI123"), as: "cut.ghb")
                _ = await cutter.value
            } catch {
                #expect(error is SFTPTransportError, "\(error)")
                if await cutter.value { cuts += 1 }
            }
            // Never a final name for a partial upload; the server removes the unfinished file.
            #expect(!listing(inbox).contains("cut.ghb") || contents("\(inbox)/cut.ghb") == bundle.bytes)
            let cleaned = eventually(timeout: 10) { listing(inbox).allSatisfy { !$0.hasPrefix(".") } }
            #expect(cleaned, "\(listing(inbox))")
            if listing(inbox).contains("cut.ghb") { break }
        }
        #expect(cuts >= 1, "the upload finished before any cut could be made")
        // The retry reconnects and delivers; a second delivery of the same bytes (an answer lost
        // after the rename) counts as delivered and leaves one file.
        if !listing(inbox).contains("cut.ghb") { try await transport.deliver(bundle.path, to: ODSCode("YOI123"), as: "cut.ghb") }
        try await transport.deliver(bundle.path, to: ODSCode("YOI123"), as: "cut.ghb")
        #expect(listing(inbox) == ["cut.ghb"])
        #expect(contents("\(inbox)/cut.ghb") == bundle.bytes)
        // Other bytes under a name already delivered are refused, never overwritten.
        let other = try file("other.ghb", 1000, seed: 99)
        await #expect(throws: SFTPClientError.self) { try await transport.deliver(other.path, to: ODSCode("YOI123"), as: "cut.ghb") }
        #expect(contents("\(inbox)/cut.ghb") == bundle.bytes)
    }

    /// What `ssh` prints includes the relay's own standard error: its last line went into error
    /// messages and logs as it was, terminal escapes and bidirectional overrides included.
    @Test func whatSSHPrintedIsShownEscaped() throws {
        let address = try SFTPServerAddress(host: "127.0.0.1", port: 2222, hostKey: SigningSecretKey.generate().publicKey)
        let said = "Warning: Permanently added 'relay' to the list of known hosts.\r\n\trelay says: \u{1B}[2J\u{202E}gnirts \r\n\n"
        #expect(SSHDiagnosis.explain(said, address: address, fallback: "EOF")
            == "the relay at 127.0.0.1:2222: \"relay says: \\u{1B}[2J\\u{202E}gnirts\"")
        #expect(SSHDiagnosis.lastLine(" \r\n\t\n") == nil)
        // A status message and a reply the relay sent are its text too.
        let status = SFTPClientError.status(.failure, "full\u{1B}[2J\r\n\u{202E}", path: "/YOI123/x\u{202E}.ghb")
        #expect(status.description == "\"/YOI123/x\\u{202E}.ghb\": \"full\\u{1B}[2J\\u{D}\\u{A}\\u{202E}\"")
        #expect(SFTPClientError.protocolError("got \u{2028}").description == "SFTP protocol error: \"got \\u{2028}\"")
        #expect(SSHDiagnosis.lastLine("one\n\u{301}two\r\n") == "\"\u{301}two\"")
    }

    @Test func aWrongHostKeyIsRefusedNamingBothFingerprints() async throws {
        let key = try SSHServer.makeClientKey(in: folder)
        let server = try SSHServer(authorizedKeys: [try forcedLine(key.publicLine, org: "A81001")])
        let pinned = SigningSecretKey.generate().publicKey
        let transport = try transport(server, key: key.file, pinning: pinned)
        let upload = try file("x.ghb", 100)
        do {
            try await transport.deliver(upload.path, to: ODSCode("YOI123"), as: "x.ghb")
            Issue.record("a relay with another host key was trusted")
        } catch {
            let text = "\(error)"
            #expect(text.contains(OpenSSHKey.fingerprint(pinned)), "\(text)")
            #expect(text.contains(OpenSSHKey.fingerprint(server.hostKey)), "\(text)")
            #expect(text.contains("refusing to connect"), "\(text)")
        }
        #expect(listing("\(mailboxes)/YOI123").isEmpty)
    }

    @Test func anUnknownClientKeyIsRefusedWithAHint() async throws {
        let registered = try SSHServer.makeClientKey(in: folder, name: "registered")
        let stranger = try SSHServer.makeClientKey(in: folder, name: "stranger")
        let server = try SSHServer(authorizedKeys: [try forcedLine(registered.publicLine, org: "A81001")])
        let transport = try transport(server, key: stranger.file)
        do {
            _ = try await transport.list(ODSCode("A81001"))
            Issue.record("an unregistered key logged in")
        } catch {
            #expect("\(error)".contains("refused this organisation's SSH key"), "\(error)")
            #expect("\(error)".contains("gatehouse relay add"), "\(error)")
        }
    }

    @Test func aRelayThatIsDownIsRetriedWithBackoffThenReached() async throws {
        let key = try SSHServer.makeClientKey(in: folder)
        let port = try SSHServer.freePort()
        // The address is known before the relay exists; its host key is made up front.
        let pending = try SSHServer(authorizedKeys: [try forcedLine(key.publicLine, org: "A81001")])
        let hostKey = pending.hostKey
        let hostKeyFile = pending.folder.appending("host_ed25519")
        pending.stop()
        let ssh = SSHInvocation(identityFile: key.file, knownHostsFile: folder.appending("known_hosts.down"), hostKeyAlias: "gatehouse-mailbox-YOI123")
        let transport = SFTPTransport(address: try SFTPServerAddress(user: NSUserName(), host: "127.0.0.1", port: port, hostKey: hostKey), ssh: ssh)
        let upload = try file("late.ghb", 10_000)
        // A caller retrying every 100 ms for 3 s: the transport itself spaces out the attempts.
        var messages: Set<String> = []
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(3) {
            do { try await transport.deliver(upload.path, to: ODSCode("YOI123"), as: "late.ghb") } catch { messages.insert("\(error)".components(separatedBy: " after:").first ?? "") }
            try await Task.sleep(for: .milliseconds(100))
        }
        let attemptsWhileDown = await transport.connectionAttempts
        #expect((1...4).contains(attemptsWhileDown), "\(attemptsWhileDown) connection attempts in 3 s")
        #expect(messages.contains { $0.contains("refused the connection") }, "\(messages)")
        // The relay comes up on that port with the pinned host key; delivery follows without help.
        let server = try SSHServer(authorizedKeys: [try forcedLine(key.publicLine, org: "A81001")], port: port,
                                   extraConfig: [], hostKeyFile: hostKeyFile)
        #expect(server.hostKey == hostKey)
        var delivered = false
        let deadline = ContinuousClock.now + .seconds(90)
        while !delivered, ContinuousClock.now < deadline {
            do {
                try await transport.deliver(upload.path, to: ODSCode("YOI123"), as: "late.ghb")
                delivered = true
            } catch {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(delivered)
        #expect(contents("\(mailboxes)/YOI123/late.ghb") == upload.bytes)
        #expect(await transport.connectionAttempts <= attemptsWhileDown + 6)
        await transport.close()
    }

    @Test func reconnectionDelaysStayWithinTheGatewaysRetryMax() async throws {
        let ssh = SSHInvocation(identityFile: "/nonexistent", knownHostsFile: folder.appending("known_hosts.cap"), hostKeyAlias: "gatehouse-mailbox-YOI123")
        let address = try SFTPServerAddress(user: NSUserName(), host: "127.0.0.1", port: 1, hostKey: try SSHServer(authorizedKeys: []).hostKey)
        let capped = SFTPTransport(address: address, ssh: ssh, backoffInitial: .milliseconds(200), backoffMax: .seconds(2))
        for failures in [1, 2, 4, 10, 1000] {
            let delay = await capped.reconnectDelay(afterFailures: failures)
            let ceiling = min(Duration.milliseconds(200) * (1 << min(failures - 1, 20)), .seconds(2))
            #expect(delay <= ceiling && delay >= ceiling / 2, "after \(failures) failures: \(delay)")
        }
        // The default keeps its 1 s to 60 s.
        let plain = SFTPTransport(address: address, ssh: ssh)
        #expect(await plain.reconnectDelay(afterFailures: 1000) >= .seconds(30))
        #expect(await plain.reconnectDelay(afterFailures: 1000) <= .seconds(60))
    }

    @Test func newMailIsReportedWithoutPolling() async throws {
        let sender = try SSHServer.makeClientKey(in: folder, name: "sender")
        let receiver = try SSHServer.makeClientKey(in: folder, name: "receiver")
        let server = try SSHServer(authorizedKeys: [try forcedLine(sender.publicLine, org: "A81001"),
                                                    try forcedLine(receiver.publicLine, org: "YOI123")])
        let outgoing = try transport(server, key: sender.file, org: "A81001")
        let incoming = try transport(server, key: receiver.file, org: "YOI123")
        defer { Task { await outgoing.close(); await incoming.close() } }
        #expect(try await incoming.list(ODSCode("YOI123")).isEmpty)
        let upload = try file("n.ghb", 5000)
        let yoi = try ODSCode("YOI123")
        let waited = Task { () -> Duration in
            let start = ContinuousClock.now
            await incoming.waitForMail(yoi, upTo: .seconds(600))
            return ContinuousClock.now - start
        }
        try await Task.sleep(for: .milliseconds(300))
        try await outgoing.deliver(upload.path, to: ODSCode("YOI123"), as: "n.ghb")
        // The wait ends on the delivery, long before its 10 min timeout.
        #expect(await waited.value < .seconds(60))
        #expect(try await incoming.list(ODSCode("YOI123")) == ["n.ghb"])
        // Listed once, the same name no longer wakes the waiter: it waits out a short timeout.
        let quiet = SFTPTransport(address: try server.address(), ssh: SSHInvocation(
            identityFile: receiver.file, knownHostsFile: folder.appending("kh.quiet"), hostKeyAlias: "gatehouse-mailbox-YOI123"), longWait: .milliseconds(500))
        _ = try await quiet.list(ODSCode("YOI123"))
        let start = ContinuousClock.now
        await quiet.waitForMail(yoi, upTo: .milliseconds(200))
        #expect(ContinuousClock.now - start >= .milliseconds(400))
        await quiet.close()
    }
}
