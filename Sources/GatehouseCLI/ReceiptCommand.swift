import ArgumentParser
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// `gatehouse receipt show ID`: an outgoing bundle's receipt, verified again, in plain words.
struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "Show the signed receipts partners sent back for outgoing bundles.",
        discussion: """
            Examples:
              gatehouse receipt show 1b7ddb06a713afcafe9a3b7a411677de
              gatehouse receipt show 1b7ddb06a713afcafe9a3b7a411677de --json
            """,
        subcommands: [Show.self]
    )

    /// `gatehouse receipt show ID [--json]`.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify an outgoing bundle's stored receipt again and show it in plain words.",
            discussion: """
                Reads the receipt the gateway stored for the bundle (`gatehouse status` lists \
                bundle ids), checks it again against the partner's pinned identity card (who \
                signed it, with which key, and whether that key was good when it signed) and \
                prints who received what (file names, sizes and SHA-256 digests), when, and \
                whether the digest it names is that of the bundle sent. A bundle without a \
                receipt yet exits with status 15; a receipt that does not verify exits with the \
                status of the failed check (5 for a bad signature).

                JSON: {"bundle_id", "partner", "partner_name", "sender", "state", "disposition", \
                "reason", "received_at", "bundle_sha256", "sent_sha256", "bundle_matches", \
                "manifest_sha256", "files": [{"name", "size", "sha256"}], "signer_key_id", \
                "root_fingerprint", "note", "verdict"}.

                Examples:
                  gatehouse receipt show 1b7ddb06a713afcafe9a3b7a411677de
                  gatehouse receipt show --json 1b7ddb06a713afcafe9a3b7a411677de
                  gatehouse receipt show 1b7ddb06
                """)

        @OptionGroup var homeOptions: HomeOptions

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        @Argument(help: ArgumentHelp("The outgoing bundle's id (32 hex digits, or the first 4 or more).",
                                     valueName: "bundle-id"))
        var bundleID: String

        func run() throws {
            let home = try homeOptions.readable()
            _ = try BundleReference.prefix(bundleID)
            guard let journal = try JournalOpener.openForReading(home: home) else {
                throw CommandFailure(status: .invalidInput,
                                     message: "no outgoing bundle \(bundleID) in \(home.path): nothing was sent yet",
                                     hint: "`gatehouse run` sends what is dropped into spool/outbox/<ODS>/")
            }
            let record = try BundleReference.outgoing(bundleID, in: journal, home: home)
            let report = try ReceiptReport(record, journal: journal, home: home)
            if json { return print(try JSONOutput.encode(report)) }
            report.printText()
        }
    }
}
