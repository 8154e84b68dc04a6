import Foundation
import GatehouseSFTP
import GatehouseSFTPClient
import GatehouseTesting
import Testing

/// The whole SSH path: our client runs OpenSSH's `ssh -s … sftp` against a real `sshd` whose
/// authorized_keys forces `gatehouse sftp-server` for the organisation's key.
@Suite("SFTP through OpenSSH ssh and sshd", .timeLimit(.minutes(3)))
struct SSHPathTests {
    @Test func clientReachesTheConfinedServerThroughSSHWithAPinnedHostKey() async throws {
        let mailboxes = try TemporaryDirectory(prefix: "gatehouse-mailboxes")
        for org in ["A81001", "YOI123"] { try FileManager.default.createDirectory(atPath: mailboxes.appending(org), withIntermediateDirectories: true) }
        let binary = try GatehouseProcess.binaryPath()
        // The key pair is made before sshd starts so its line can go in authorized_keys.
        let keys = try TemporaryDirectory(prefix: "gatehouse-keys")
        let key = keys.appending("a81001_ed25519")
        let keygen = Process()
        keygen.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        keygen.arguments = ["-q", "-t", "ed25519", "-N", "", "-f", key]
        try keygen.run()
        keygen.waitUntilExit()
        let publicKey = try String(contentsOfFile: key + ".pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try SSHServer(authorizedKeys: [
            "command=\"\(binary) sftp-server --org A81001 --root \(mailboxes.path)\",restrict \(publicKey)",
        ])
        let client = try await SFTPClient.connect(executable: "/usr/bin/ssh", arguments: try server.sftpArguments(key: key))
        defer { client.connection.close() }
        let bundle = keys.appending("b.ghb")
        try Data((0..<500_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: bundle))
        try await client.upload(bundle, to: "/YOI123", as: "b.ghb")
        #expect(try Data(contentsOf: URL(fileURLWithPath: mailboxes.appending("YOI123/b.ghb"))) == Data(contentsOf: URL(fileURLWithPath: bundle)))
        // The forced command confines the key: another organisation's mailbox cannot be listed.
        await #expect(throws: SFTPClientError.self) { try await client.list("/YOI123") }
        #expect(try await client.list("/A81001").isEmpty)
    }
}
