import Foundation
import Glibc

/// A `gatehouse run` daemon started for an end-to-end test; its log goes to `<home>/daemon.log`.
/// Stopped with SIGTERM (graceful) or SIGKILL (a crash); killed when the object goes away.
public final class DaemonProcess: @unchecked Sendable {
    /// The home folder it runs in.
    public let home: String
    private let process = Process()
    private let log: FileHandle

    /// Starts `gatehouse run --home home` with `arguments` appended.
    public init(home: String, arguments: [String] = []) throws {
        self.home = home
        let logPath = home + "/daemon.log"
        if !FileManager.default.fileExists(atPath: logPath) { FileManager.default.createFile(atPath: logPath, contents: nil) }
        log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.executableURL = URL(fileURLWithPath: try GatehouseProcess.binaryPath())
        process.arguments = ["run", "--home", home] + arguments
        process.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": home]
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? log.close()
    }

    /// True while the daemon runs.
    public var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM and waits up to `timeout` seconds; returns the exit status, or nil if it
    /// had to be killed.
    @discardableResult
    public func stop(timeout: Double = 10) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else {
            crash()
            return nil
        }
        return process.terminationStatus
    }

    /// SIGKILL, as a crash or power cut would.
    public func crash() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
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
