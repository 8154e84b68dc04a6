import Foundation
import Glibc
public import GatehouseKit

/// A real PostgreSQL server for tests, from Debian's `postgresql` package: initdb in a new
/// folder, a free port on 127.0.0.1, password (scram) authentication over TCP. One server per
/// test process, started at first use; each test takes a database of its own.
///
/// PostgreSQL refuses to run as root, so as root (CI) the server runs as `nobody` through
/// `setpriv`. A watchdog shell beside it stops it and removes its folder when the test
/// process ends, however it ends.
public final class PostgresServer: Sendable {
    /// The port it listens on (127.0.0.1 only).
    public let port: Int
    /// Its folder: data, socket, log.
    public let folder: String
    /// A password file for the journal settings, mode 0600, owned by the test's user.
    public let passwordFile: String
    let bin: String
    /// The role the journal connects as.
    public static let user = "gatehouse"

    /// The shared server, or why there is none (PostgreSQL not installed).
    public static let shared: Result<PostgresServer, any Error> = Result { try PostgresServer() }

    /// True when Debian's PostgreSQL programs are installed.
    public static var isInstalled: Bool { binaries() != nil }

    /// The newest `/usr/lib/postgresql/*/bin` holding `postgres`.
    static func binaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted(by: >).map { "\(root)/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/postgres") }
    }

    /// A server of the test's own (one it may stop); most tests share ``shared``.
    public static func start() throws -> PostgresServer { try PostgresServer() }

    /// Stops the server at once (fast shutdown), as a database lost to a node would be.
    public func stop() {
        guard let text = try? String(contentsOfFile: folder + "/data/postmaster.pid", encoding: .utf8),
              let pid = Int32(text.prefix { $0 != "\n" }) else { return }
        kill(pid, SIGINT)
        while kill(pid, 0) == 0 { usleep(20_000) }
    }

    init() throws {
        guard let bin = Self.binaries() else {
            throw GatehouseProcess.LaunchError(description: "PostgreSQL is not installed (scripts/install-deps.sh installs it)")
        }
        self.bin = bin
        port = try SSHServer.freePort()
        // As root the server runs as nobody, who must reach its folder: /tmp, whatever TMPDIR says.
        let base = getuid() == 0 ? "/tmp" : FileManager.default.temporaryDirectory.path
        folder = base + "/gatehouse-pg-\(UUID().uuidString.lowercased())"
        guard mkdir(folder, 0o700) == 0 else { throw GatehouseProcess.LaunchError(description: "cannot create \(folder)") }
        let password = UUID().uuidString
        // Owned by the test's user (root in CI), mode 0600, as the journal settings demand.
        passwordFile = folder + "/journal-password"
        try writeClosed(Array(password.utf8), to: passwordFile)
        chmod(passwordFile, 0o600)
        try writeClosed(Array(password.utf8), to: folder + "/pwfile")
        if getuid() == 0 {
            chown(folder, 65534, 65534)
            chown(folder + "/pwfile", 65534, 65534)
        }
        try Self.run(asServer: [bin + "/initdb", "-D", folder + "/data", "-U", Self.user, "--pwfile=" + folder + "/pwfile",
                                "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                     in: folder)
        // Durability is not under test here: fsync off keeps every test quick.
        let server = [bin + "/postgres", "-D", folder + "/data", "-p", String(port), "-k", folder,
                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                      "-c", "full_page_writes=off", "-c", "max_connections=300"].map { "'\($0)'" }.joined(separator: " ")
        let watchdog = """
            \(server) >'\(folder)/log' 2>&1 &
            pg=$!
            while [ -d /proc/\(getpid()) ] && kill -0 $pg 2>/dev/null; do sleep 0.5; done
            kill -INT $pg 2>/dev/null; wait $pg; rm -rf '\(folder)'
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: getuid() == 0 ? "/usr/bin/setpriv" : "/bin/sh")
        process.arguments = (getuid() == 0 ? Self.nobody + ["/bin/sh"] : []) + ["-c", watchdog]
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        // Listening is not ready: until recovery ends it answers "the database system is starting up".
        while (try? Self.run(asServer: [bin + "/pg_isready", "-q", "-h", folder, "-p", String(port)], in: folder)) == nil {
            guard Date() < deadline, process.isRunning else {
                let log = (try? String(contentsOfFile: folder + "/log", encoding: .utf8)) ?? ""
                throw GatehouseProcess.LaunchError(description: "PostgreSQL did not start: \(log)")
            }
            usleep(50_000)
        }
    }

    static let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"]

    @discardableResult
    static func run(asServer command: [String], in folder: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: getuid() == 0 ? "/usr/bin/setpriv" : command[0])
        process.arguments = getuid() == 0 ? nobody + command : Array(command.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw GatehouseProcess.LaunchError(description: "\(command[0]) failed: \(text)")
        }
        return text
    }

    /// Runs one SQL statement as the superuser over the server's Unix socket; its rows, one line
    /// each, columns separated by `|`.
    @discardableResult
    public func execute(_ sql: String, database: String = "postgres") throws -> String {
        try Self.run(asServer: [bin + "/psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", folder,
                                "-p", String(port), "-U", Self.user, "-d", database, "-c", sql], in: folder)
    }

    /// A new, empty database; its name.
    public func createDatabase() throws -> String {
        let name = "t" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try execute("CREATE DATABASE \(name)")
        return name
    }

    /// `[journal]` settings for `database`: TCP on loopback, the password from a file, no TLS.
    public func journalSettings(database: String) -> JournalSettings {
        var settings = JournalSettings(url: "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)")
        settings.passwordFile = passwordFile
        settings.tls = .disable
        // Long: these journals renew no lease; tests end one by expiring it in the database.
        settings.lease = .seconds(600)
        return settings
    }

    /// The `[journal]` table of gatehouse.toml for `database`.
    public func journalTable(database: String, lease: String = "3s") -> String {
        """
        [journal]
        url = "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)"
        password_file = "\(passwordFile)"
        tls = "disable"
        lease = "\(lease)"

        """
    }
}
