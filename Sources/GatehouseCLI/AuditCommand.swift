import ArgumentParser
import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit

/// `gatehouse audit …`: the tamper-evident audit log.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify and read the audit log (hash-chained, with signed checkpoints).",
        discussion: """
            HOME/audit/audit.jsonl records every security-relevant event: keys created, partners \
            added or updated, bundles sealed, delivered, received or rejected, receipts sent and \
            verified. Each line names the SHA-256 of the line before it; every 100 entries (and \
            when the daemon stops) a checkpoint is signed with the signing key. It holds bundle \
            ids, digests and organisation codes only: no file names, names or NHS numbers.

            Examples:
              gatehouse audit verify
              gatehouse audit show --bundle 5572b3af1cbbd3bf4653f53c88e9d2a5
              gatehouse audit show --since 2026-11-25T00:00:00Z --json
            """,
        subcommands: [Verify.self, Show.self, Checkpoint.self]
    )

    /// `gatehouse audit verify`.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the whole log: chain, sequence, checkpoint signatures, and the latest checkpoint still there.",
            discussion: """
                Examples:
                  gatehouse audit verify
                  gatehouse audit verify --home /var/lib/gatehouse
                """)

        @OptionGroup var homeOptions: HomeOptions

        func run() throws {
            let home = try homeOptions.initialised()
            let card = try KeyStore(home: home).loadOwnCard()
            let log = AuditLog(home: home)
            let result = log.verify(keys: card.manifest.signingKeys)
            guard result.isIntact else {
                throw CommandFailure(status: .integrityCheckFailed,
                                     message: "the audit log \(log.path) has been tampered with:\n  " + result.problems.joined(separator: "\n  "),
                                     hint: "keep the file as evidence; compare it with a backup to see what was changed")
            }
            print("\(log.path): intact, \(result.entries) entries, \(result.checkpoints) signed checkpoint(s).")
        }
    }

    /// `gatehouse audit show`.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print audit entries, oldest first.",
            discussion: """
                Examples:
                  gatehouse audit show
                  gatehouse audit show --bundle 5572b3af1cbbd3bf4653f53c88e9d2a5
                  gatehouse audit show --since 2026-11-25T00:00:00Z --json
                  gatehouse audit show --since 1h
                  gatehouse audit show --user anna.nurse --since 7d
                """)

        @OptionGroup var homeOptions: HomeOptions

        @Option(help: ArgumentHelp("Only entries about this bundle id.", valueName: "id"))
        var bundle: String?

        @Option(help: ArgumentHelp("Only entries at or after this time: \(PointInTime.expected).", valueName: "time"),
                transform: TimeArgument.parse)
        var since: UInt64?

        @Option(help: ArgumentHelp("Only entries about this staff account of the web pages (sign-ins, views, "
            + "downloads, handled marks).", valueName: "name"))
        var user: String?

        @Flag(help: "Print the entries as JSON lines, as stored.")
        var json = false

        func run() throws {
            let home = try homeOptions.initialised()
            let entries = try AuditLog(home: home).entries().filter { entry in
                (bundle == nil || entry.bundle == bundle?.lowercased())
                    && (user == nil || entry.user == user?.lowercased())
                    && (since == nil || (RFC3339.parse(String(entry.time.prefix(19)) + "Z") ?? 0) >= since!)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for entry in entries {
                if json {
                    print(String(decoding: try encoder.encode(entry), as: UTF8.self))
                } else {
                    let fields = [entry.org, entry.bundle, entry.sha256.map { "sha256 \($0.prefix(16))…" }, entry.detail, entry.keyID.map { "key \($0)" }]
                    print("\(entry.seq)\t\(entry.time)\t\(entry.event)\t\(fields.compactMap { $0 }.joined(separator: "  "))")
                }
            }
        }
    }

    /// `gatehouse audit checkpoint`.
    struct Checkpoint: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append a checkpoint signed with the signing key now.",
            discussion: """
                Examples:
                  gatehouse audit checkpoint
                """)

        @OptionGroup var homeOptions: HomeOptions

        func run() throws {
            let home = try homeOptions.initialised()
            try AuditLog(home: home).checkpoint(with: try KeyStore(home: home).loadSigningKey())
            print("Checkpoint appended to \(AuditLog(home: home).path).")
        }
    }
}

/// Appends to the audit log from a command; a failure is reported but does not undo the command.
enum CommandAudit {
    static func record(_ event: AuditEvent, home: GatehouseHome) {
        let keys = KeyStore(home: home)
        do {
            try AuditLog(home: home).append(event) { () throws(KitError) in try keys.loadSigningKey() }
        } catch {
            FileHandle.standardError.write(Data("gatehouse: warning: could not write the audit log: \(error)\n".utf8))
        }
    }
}
