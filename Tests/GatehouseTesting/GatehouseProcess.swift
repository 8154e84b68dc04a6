import Foundation
import Glibc

/// What a run of the `gatehouse` binary produced.
public struct ProcessOutput: Sendable {
    /// The exit status (or 128 + signal number if it was killed by a signal).
    public let status: Int32
    /// Everything written to standard output.
    public let stdout: String
    /// Everything written to standard error.
    public let stderr: String
}

/// Runs the built `gatehouse` executable as a subprocess, for end-to-end tests of the CLI.
public enum GatehouseProcess {
    /// Errors from locating or starting the binary.
    public struct LaunchError: Error, CustomStringConvertible {
        /// What went wrong.
        public let description: String

        /// An error saying `description`.
        public init(description: String) { self.description = description }
    }

    /// The `gatehouse` binary next to the test bundle in the build folder (`.build/debug/gatehouse`),
    /// or the path in `$GATEHOUSE_BINARY` when set.
    public static func binaryPath() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["GATEHOUSE_BINARY"], !explicit.isEmpty { return explicit }
        // The test runner is itself an executable in the build folder (on Linux,
        // .build/<triple>/debug/gatehousePackageTests.xctest); on macOS it is a bundle inside it.
        var candidates: [URL] = []
        let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        candidates.append(runner.deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        for folder in candidates {
            let path = folder.appendingPathComponent("gatehouse").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw LaunchError(description: "the gatehouse binary was not found next to the tests (looked in \(candidates.map(\.path))); run `swift build` first or set GATEHOUSE_BINARY")
    }

    /// `gatehouse init` of a new home folder at `home`; throws with its error when it fails.
    public static func initialise(_ home: String, org: String = "A81001", name: String = "Riverside Medical Practice",
                                  mailbox: String? = nil) throws {
        let made = try run(["init", "--home", home, "--org", org, "--name", name]
                           + (mailbox.map { ["--mailbox", $0] } ?? []))
        guard made.status == 0 else { throw LaunchError(description: "gatehouse init failed: \(made.stderr)") }
    }

    /// Runs `gatehouse arguments…` and waits for it.
    ///
    /// - Parameters:
    ///   - arguments: the command-line arguments, without the program name.
    ///   - home: exported as `$GATEHOUSE_HOME` when given (and used as the working folder).
    ///   - environment: extra variables; the child otherwise gets only `PATH` and `HOME`, so the
    ///     developer's own `$GATEHOUSE_HOME` never leaks into a test.
    ///   - stdin: the bytes on standard input; nil means an empty, closed standard input.
    ///   - timeout: seconds after which the program is killed (SIGKILL, status 137), so that a
    ///     command that hangs fails its test instead of hanging it.
    public static func run(
        _ arguments: [String], home: String? = nil, environment: [String: String] = [:], stdin: String? = nil,
        timeout: Double? = nil
    ) throws -> ProcessOutput {
        try runProgram(try binaryPath(), arguments, home: home, environment: environment, stdin: stdin, timeout: timeout)
    }

    /// Runs any program the same way as ``run(_:home:environment:stdin:)`` (OpenSSH's `sftp`,
    /// `ssh-keygen`, …), with output captured in files: a pipe's write end could be inherited by
    /// a long-lived process another test starts meanwhile, and reading it to the end would hang.
    public static func runProgram(
        _ executable: String, _ arguments: [String], home: String? = nil, environment: [String: String] = [:], stdin: String? = nil,
        timeout: Double? = nil
    ) throws -> ProcessOutput {
        let scratch = try TemporaryDirectory(prefix: "gatehouse-run")
        let outPath = scratch.appending("stdout"), errPath = scratch.appending("stderr"), inPath = scratch.appending("stdin")
        // Files rather than pipes: a chatty child can never block on a full pipe.
        for (path, contents) in [(outPath, ""), (errPath, ""), (inPath, stdin ?? "")] {
            guard FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)) else {
                throw LaunchError(description: "could not create \(path)")
            }
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": scratch.path]
        if let home {
            env["GATEHOUSE_HOME"] = home
            process.currentDirectoryURL = URL(fileURLWithPath: home)
        }
        env.merge(environment) { _, new in new }
        process.environment = env
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        defer { try? output.close(); try? errors.close(); try? input.close() }
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        try process.run()
        if let timeout {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProcessOutput(
            status: status,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}
