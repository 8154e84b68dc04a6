import Foundation
import Glibc

/// A real OpenSSH `sshd` for a test: its own host key, config, pid file and authorized_keys in
/// a temporary folder, listening on a free port on 127.0.0.1 only, stopped when it goes away.
public final class SSHServer: @unchecked Sendable {
    /// The folder holding the configuration and keys.
    public let folder: TemporaryDirectory
    /// The port it listens on.
    public let port: Int
    /// The `known_hosts` line pinning its host key.
    public let knownHostsLine: String
    private let process = Process()

    /// Starts sshd; each entry of `authorizedKeys` is a complete authorized_keys line.
    public init(authorizedKeys: [String]) throws {
        folder = try TemporaryDirectory(prefix: "gatehouse-sshd")
        let hostKey = folder.appending("host_ed25519")
        try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey])
        port = try Self.freePort()
        let hostPublic = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        knownHostsLine = "[127.0.0.1]:\(port) \(hostPublic)"
        try authorizedKeys.joined(separator: "\n").appending("\n").write(toFile: folder.appending("authorized_keys"), atomically: true, encoding: .utf8)
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey)
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
            """
        try config.write(toFile: folder.appending("sshd_config"), atomically: true, encoding: .utf8)
        // As root, sshd insists on its privilege-separation folder.
        if getuid() == 0 { mkdir("/run/sshd", 0o755) }
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/sshd")
        process.arguments = ["-D", "-e", "-f", folder.appending("sshd_config")]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: { let p = folder.appending("sshd.log"); FileManager.default.createFile(atPath: p, contents: nil); return URL(fileURLWithPath: p) }())
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(port) {
            guard process.isRunning, Date() < deadline else {
                throw GatehouseProcess.LaunchError(description: "sshd did not start: \((try? String(contentsOfFile: folder.appending("sshd.log"), encoding: .utf8)) ?? "")")
            }
            usleep(20_000)
        }
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
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

    static func freePort() throws -> Int {
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

    static func accepts(_ port: Int) -> Bool {
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
