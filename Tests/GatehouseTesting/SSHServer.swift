import Foundation
import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit

/// A real OpenSSH `sshd` for a test: its own host key, config, pid file and authorized_keys in
/// a temporary folder, listening on a free port on 127.0.0.1 only, stopped when it goes away.
public final class SSHServer: @unchecked Sendable {
    /// The folder holding the configuration and keys.
    public let folder: TemporaryDirectory
    /// The port it listens on.
    public let port: Int
    /// The `known_hosts` line pinning its host key.
    public let knownHostsLine: String
    private var process: ChildProcess!

    /// The host key.
    public let hostKey: SigningPublicKey

    /// Starts sshd; each entry of `authorizedKeys` is a complete authorized_keys line, and
    /// `extraConfig` lines are added to sshd_config. `port` is a free one unless given.
    /// `hostKeyFile` reuses another server's host key (a relay coming back).
    public init(authorizedKeys: [String], port: Int? = nil, extraConfig: [String] = [], hostKeyFile existing: String? = nil) throws {
        folder = try TemporaryDirectory(prefix: "gatehouse-sshd")
        let hostKeyFile = folder.appending("host_ed25519")
        if let existing {
            try FileManager.default.copyItem(atPath: existing, toPath: hostKeyFile)
            try FileManager.default.copyItem(atPath: existing + ".pub", toPath: hostKeyFile + ".pub")
            chmod(hostKeyFile, 0o600)
        } else {
            try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKeyFile])
        }
        self.port = try port ?? Self.freePort()
        let hostPublic = try String(contentsOfFile: hostKeyFile + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        hostKey = try OpenSSHKey.parsePublic(hostPublic)
        knownHostsLine = "[127.0.0.1]:\(self.port) \(hostPublic)"
        try authorizedKeys.joined(separator: "\n").appending("\n").write(toFile: folder.appending("authorized_keys"), atomically: true, encoding: .utf8)
        let config = """
            Port \(self.port)
            ListenAddress 127.0.0.1
            HostKey \(hostKeyFile)
            PidFile \(folder.appending("sshd.pid"))
            AuthorizedKeysFile \(folder.appending("authorized_keys"))
            UsePAM no
            StrictModes no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            AllowTcpForwarding no
            AllowAgentForwarding no
            X11Forwarding no
            PermitTTY no
            Subsystem sftp internal-sftp
            LogLevel ERROR
            """ + extraConfig.map { "\n" + $0 }.joined()
        try config.write(toFile: folder.appending("sshd_config"), atomically: true, encoding: .utf8)
        // As root, sshd insists on its privilege-separation folder.
        if getuid() == 0 { mkdir("/run/sshd", 0o755) }
        // Not Foundation's Process: sshd closes inherited descriptors, which Foundation mistakes
        // for its exit (see ChildProcess).
        let log = open(folder.appending("sshd.log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(log); close(null) }
        process = try ChildProcess(executable: "/usr/sbin/sshd", arguments: ["-D", "-e", "-f", folder.appending("sshd_config")],
                                   stdin: null, stdout: null, stderr: log)
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(self.port) {
            guard process.isRunning, Date() < deadline else {
                throw GatehouseProcess.LaunchError(description: "sshd did not start: \((try? String(contentsOfFile: folder.appending("sshd.log"), encoding: .utf8)) ?? "")")
            }
            usleep(20_000)
        }
    }

    deinit { stop() }

    /// Stops sshd now (the test goes on without it).
    public func stop() {
        process.send(SIGTERM)
        process.wait()
    }

    /// Makes a client key pair in `folder` the way `gatehouse init` does; returns the private
    /// key file and the public line for authorized_keys.
    public static func makeClientKey(in folder: TemporaryDirectory, name: String = "id_ed25519") throws -> (file: String, publicLine: String) {
        let key = SigningSecretKey.generate()
        let file = folder.appending(name)
        let text = OpenSSHKey.privateKeyFile(key, comment: "test")
        try text.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: file)) }
        chmod(file, 0o600)
        return (file, OpenSSHKey.publicLine(key.publicKey))
    }

    /// The mailbox address of this server as `user`, pinning `hostKey` (its own unless given).
    public func address(pinning key: SigningPublicKey? = nil) throws -> SFTPServerAddress {
        try SFTPServerAddress(user: NSUserName(), host: "127.0.0.1", port: port, hostKey: key ?? hostKey)
    }

    /// `ssh` arguments for an SFTP subsystem session with `key`, the host key pinned.
    public func sftpArguments(key: String) throws -> [String] {
        let knownHosts = folder.appending("known_hosts")
        try (knownHostsLine + "\n").write(toFile: knownHosts, atomically: true, encoding: .utf8)
        return ["-s", "-p", String(port), "-i", key, "-F", "/dev/null",
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=\(knownHosts)", "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "\(NSUserName())@127.0.0.1", "sftp"]
    }

    static func run(_ executable: String, _ arguments: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw GatehouseProcess.LaunchError(description: "\(executable) failed") }
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { throw GatehouseProcess.LaunchError(description: "no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True when something accepts connections on 127.0.0.1:`port`.
    public static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
