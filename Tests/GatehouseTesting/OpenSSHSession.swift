import Foundation
import Glibc
import GatehouseKit

/// An SFTP session through OpenSSH's `ssh -s … sftp`, opened the way a gateway's transport opens
/// one, with its input held open: for tests of what a relay does to sessions already open.
public final class OpenSSHSession: @unchecked Sendable {
    private let process: ChildProcess
    private let input: Int32
    private let replies: String

    /// Options every test login uses: no configuration, key only, any host key.
    public static let options = ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                                 "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                                 "-o", "LogLevel=ERROR"]

    /// Logs in as `user` on 127.0.0.1:`port` with `key` and sends SSH_FXP_INIT; `folder` keeps
    /// what the server answers.
    public init(key: String, port: Int, user: String, folder: TemporaryDirectory) throws {
        let pipe = try ChildProcess.pipe()
        replies = folder.appending("replies-\(UUID().uuidString)")
        let output = open(replies, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(output); close(null); close(pipe.read) }
        process = try ChildProcess(
            executable: "/usr/bin/ssh",
            arguments: Self.options + ["-i", key, "-p", "\(port)", "-s", "\(user)@127.0.0.1", "sftp"],
            stdin: pipe.read, stdout: output, stderr: null)
        input = pipe.write
        // SSH_FXP_INIT, version 3.
        _ = send([0, 0, 0, 5, 1, 0, 0, 0, 3])
    }

    deinit {
        close(input)
        process.send(SIGKILL)
    }

    /// Bytes the server has answered so far.
    public var answered: Int { (try? FileManager.default.attributesOfItem(atPath: replies)[.size] as? Int) ?? 0 }

    /// True once the server has answered SSH_FXP_INIT: the session is serving.
    public var isServing: Bool { answered > 0 }

    /// True while `ssh` runs (the session is open).
    public var isOpen: Bool { process.isRunning }

    /// Writes raw SFTP packets; false when the session has gone.
    public func send(_ bytes: [UInt8]) -> Bool { ChildProcess.writeAll(input, bytes) }
}
