import Foundation
import Glibc
import GatehouseKit
import GatehouseTesting
import Testing

/// Stopping a relay ends its sessions: sshd closes its listener on SIGTERM but leaves each
/// connection running, so every session started by `relay run` watches the sshd that started it
/// (`sftp-server --relay-pid-file`) and ends when it exits.
@Suite("gatehouse relay run: stopping ends every session")
struct RelayStopTests {
    let folder: TemporaryDirectory

    init() throws { folder = try TemporaryDirectory() }

    /// The `gatehouse sftp-server` processes serving mailboxes under `root`, from /proc.
    static func sessions(serving root: String) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
            let cmdline = URL(fileURLWithPath: "/proc/\(entry)/cmdline")
            guard let pid = Int32(entry), let command = try? Data(contentsOf: cmdline) else { return nil }
            let words = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return words.contains("sftp-server") && words.contains(root) ? pid : nil
        }
    }

    @Test func sigtermToRelayRunCutsAnOpenSession() throws {
        let relay = folder.appending("relay"), port = try SSHServer.freePort()
        func gatehouse(_ arguments: String...) throws -> ProcessOutput {
            let output = try GatehouseProcess.run(arguments)
            #expect(output.status == 0, "\(arguments): \(output.stderr)")
            return output
        }
        _ = try gatehouse("relay", "init", "--home", relay, "--listen", "127.0.0.1:\(port)")
        let address = try gatehouse("relay", "address", "--home", relay).stdout.trimmingCharacters(in: .newlines)
        let home = folder.appending("practice"), card = folder.appending("A81001.card")
        _ = try gatehouse("init", "--home", home, "--org", "A81001", "--name", "Riverside Medical Practice",
                          "--mailbox", address)
        _ = try gatehouse("identity", "export", "--home", home, "-o", card)
        _ = try gatehouse("relay", "add", "--home", relay, card, "--yes")
        let running = try DaemonProcess(home: relay, command: ["relay", "run"])
        #expect(eventually(timeout: 10) { SSHServer.accepts(port) }, "\(running.logText)")

        // A session as the gateway's transport opens one (ssh -s … sftp), serving.
        let user = String(address.dropFirst("sftp://".count).prefix { $0 != "@" })
        let key = try KeyStore(home: GatehouseHome(path: home)).sshKeyFile()
        let session = try OpenSSHSession(key: key, port: port, user: user, folder: folder)
        #expect(eventually(timeout: 20) { session.isServing }, "\(running.logText)")
        let mailboxes = relay + "/mailboxes"
        #expect(!Self.sessions(serving: mailboxes).isEmpty)
        #expect(session.isOpen)

        #expect(running.stop() != nil, "relay run did not stop on SIGTERM")
        // The open session ends too: its sftp-server exits and the client sees the channel close.
        #expect(eventually(timeout: 20) { !session.isOpen }, "the session outlived the relay")
        #expect(Self.sessions(serving: mailboxes).isEmpty)
        let refusals = (try? String(contentsOfFile: relay + "/log/sftp-server.log", encoding: .utf8)) ?? ""
        #expect(refusals.contains("A81001: the relay stopped: session ended"), "\(refusals)")
        for pid in Self.sessions(serving: mailboxes) { kill(pid, SIGKILL) }
    }

    /// Runs `sftp -D` with `gatehouse sftp-server --relay-pid-file FILE` over pipes; this test
    /// process is an ancestor of the server.
    func session(pidFile: String) throws -> (status: Int32, output: String, log: String) {
        let root = folder.appending("mailboxes"), log = folder.appending("refusals-\(UUID().uuidString).log")
        try FileManager.default.createDirectory(atPath: root + "/A81001", withIntermediateDirectories: true)
        let batch = folder.appending("batch")
        try "ls /A81001\n".write(toFile: batch, atomically: true, encoding: .utf8)
        let server = "\(try GatehouseProcess.binaryPath()) sftp-server --org A81001 --root \(root) --log \(log)"
            + " --relay-pid-file \(pidFile)"
        let output = try GatehouseProcess.runProgram("/usr/bin/sftp", ["-b", batch, "-D", server], home: folder.path,
                                                     timeout: 60)
        return (output.status, output.stdout + output.stderr, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    @Test func aSessionServesOnlyWhileTheSSHDThatStartedItRuns() throws {
        let pidFile = folder.appending("sshd.pid")
        // This process started the session: it stands for the relay's sshd.
        try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        let served = try session(pidFile: pidFile)
        #expect(served.status == 0, "\(served.output) \(served.log)")

        // A stopped relay (sshd removes its pid file) serves no one.
        try FileManager.default.removeItem(atPath: pidFile)
        let stopped = try session(pidFile: pidFile)
        #expect(stopped.status != 0)
        #expect(stopped.log.contains("session refused: the relay is not running"), "\(stopped.log)")

        // A pid file naming a live process that did not start the session (a relay restarted
        // meanwhile, or a stale file whose pid was reused) neither keeps it alive nor is trusted.
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        let stranger = try ChildProcess(executable: "/bin/sleep", arguments: ["60"], stdin: null, stdout: null,
                                        stderr: null)
        defer { stranger.send(SIGKILL) }
        try "\(stranger.pid)\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        let foreign = try session(pidFile: pidFile)
        #expect(foreign.status != 0)
        #expect(foreign.log.contains("did not start this session"), "\(foreign.log)")
    }
}
