import Foundation
import Glibc
import GatehouseKit

/// A `gatehouse run` daemon (or `gatehouse relay run`) started for an end-to-end test; its log goes to `<home>/daemon.log`.
/// Stopped with SIGTERM (graceful) or SIGKILL (a crash); killed when the object goes away.
public final class DaemonProcess: @unchecked Sendable {
    /// The home folder it runs in.
    public let home: String
    private let process: ChildProcess

    /// Starts `gatehouse COMMAND --home home` (COMMAND is `run` unless given, e.g. `relay run`)
    /// with `arguments` appended.
    public init(home: String, arguments: [String] = [], command: [String] = ["run"]) throws {
        self.home = home
        let logPath = home + "/daemon.log"
        // Not Foundation's Process: `relay run` becomes sshd, which closes inherited descriptors,
        // and Foundation would mistake that for its exit (see ChildProcess).
        let log = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(log); close(null) }
        process = try ChildProcess(
            executable: try GatehouseProcess.binaryPath(), arguments: command + ["--home", home] + arguments,
            stdin: null, stdout: log, stderr: log,
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home])
    }

    deinit {
        // Everything it started goes too (ssh sessions, or sshd's).
        for pid in Self.descendants(of: process.pid) { kill(pid, SIGKILL) }
        process.send(SIGKILL)
        process.wait()
    }

    /// True while the daemon runs.
    public var isRunning: Bool { process.isRunning }

    /// The process id.
    public var pid: Int32 { process.pid }

    /// Sends SIGTERM and waits up to `timeout` seconds; returns the exit status, or nil if it
    /// had to be killed.
    @discardableResult
    public func stop(timeout: Double = 10) -> Int32? {
        guard process.isRunning else { return process.exitCode }
        process.send(SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else {
            crash()
            return nil
        }
        return process.exitCode
    }

    /// SIGKILL, as a crash or power cut would.
    public func crash() {
        guard process.isRunning else { return }
        process.send(SIGKILL)
        process.wait()
    }

    /// SIGKILL to the process and every process it started (for `relay run`: sshd and its
    /// sessions), as a crash of the whole machine's service would.
    public func crashTree() {
        guard process.isRunning else { return }
        for pid in Self.descendants(of: process.pid) { kill(pid, SIGKILL) }
        process.send(SIGKILL)
        process.wait()
    }

    /// The processes descended from `root`, from /proc.
    public static func descendants(of root: Int32) -> [Int32] {
        var parents: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            // "pid (comm) state ppid …": the fields after the command name.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parents[pid] = parent }
        }
        var found: [Int32] = []
        var frontier = [root]
        while let next = frontier.popLast() {
            let children = parents.filter { $0.value == next }.map(\.key)
            found += children
            frontier += children
        }
        return found
    }

    /// The daemon's log so far.
    public var logText: String { (try? String(contentsOfFile: home + "/daemon.log", encoding: .utf8)) ?? "" }
}

/// Polls `condition` every 50 ms until it holds or `timeout` seconds pass; returns whether it held.
/// For end-to-end waits only: the timeout is a safety net, never a performance assertion.
public func eventually(timeout: Double = 30, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        usleep(50_000)
    } while Date() < deadline
    return try condition()
}
