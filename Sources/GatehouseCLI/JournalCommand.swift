import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseKit

/// `gatehouse journal`: where the journal lives.
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Move the journal between stores.",
        discussion: """
            The journal is spool/journal.sqlite unless [journal] in gatehouse.toml names a \
            PostgreSQL database.

            Example:
              gatehouse journal migrate --to postgres://gatehouse@db.example.net/gatehouse \\
                  --password-file /etc/gatehouse/journal-password
            """,
        subcommands: [Migrate.self]
    )

    /// `gatehouse journal migrate --to postgres://…`.
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Copy this gateway's SQLite journal into a PostgreSQL database.",
            discussion: """
                Stop the gateway first: the command takes the home lock, so it refuses to run beside \
                `gatehouse run`. It copies every bundle, file, pack and transition of this \
                organisation in one transaction, and refuses a database that already holds bundles \
                of it. spool/journal.sqlite stays as it was (keep it until the gateway runs on \
                PostgreSQL). Then add the printed [journal] table to gatehouse.toml and start the \
                gateway again.

                Example:
                  gatehouse journal migrate --to postgres://gatehouse@db.example.net/gatehouse \\
                      --password-file /etc/gatehouse/journal-password
                """
        )

        @OptionGroup var homeOptions: HomeOptions

        @Option(name: .customLong("to"), help: ArgumentHelp(
            "The PostgreSQL database, postgres://USER@HOST[:PORT]/DATABASE (never with a password).",
            valueName: "url"))
        var url: String

        @Option(name: .customLong("password-file"), help: ArgumentHelp(
            "A file holding the password (mode 0600).", valueName: "file"))
        var passwordFile: String?

        @Option(name: .customLong("tls"),
                help: "require (default: the server's certificate is verified) or disable (loopback only).")
        var tls: String = "require"

        @Option(name: .customLong("ca-file"), help: ArgumentHelp(
            "Trusted root certificates (PEM) for the server, instead of the system's.", valueName: "file"))
        var caFile: String?

        func run() throws {
            let home = try homeOptions.initialised()
            if let problem = JournalSettings.checkURL(url) { throw ValidationError("--to: \(problem)") }
            guard let mode = JournalSettings.TLS(rawValue: tls) else {
                throw ValidationError("--tls: require or disable")
            }
            guard try GatehouseConfig.load(home: home).journal == nil else {
                throw CommandFailure(status: .invalidInput, message: "\(home.configPath) already names a [journal]",
                                     hint: "the gateway already keeps its journal in PostgreSQL")
            }
            // No daemon may write the SQLite journal while it is copied.
            let lock = try HomeLock.daemon(home)
            defer { lock.release() }
            var settings = JournalSettings(url: url)
            let here = FileManager.default.currentDirectoryPath
            settings.passwordFile = passwordFile.map { $0.hasPrefix("/") ? $0 : here + "/" + $0 }
            settings.tls = mode
            settings.caFile = caFile
            let copied = try JournalOpener.migrate(home: home, to: settings)
            print("Copied \(copied).")
            print("Add this to \(home.configPath), then start the gateway:\n")
            print("[journal]")
            print("url = \"\(url)\"")
            if let file = settings.passwordFile { print("password_file = \"\(file)\"") }
            print("tls = \"\(mode.rawValue)\"")
            if let caFile { print("ca_file = \"\(caFile)\"") }
        }
    }
}
