import Glibc
import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// `gatehouse status [ID] [--json]`.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show outgoing bundles and where each one is.",
        discussion: """
            States: queued (claimed from the outbox), sealed, delivered (in the partner's \
            mailbox), held (the partner's signed receipt says it holds the bundle unopened \
            because it has not added your card: not final, it is opened when they add it), \
            acknowledged (a receipt whose signature and bundle digest verify), failed (refused, \
            with the reason), expired (not acknowledged in time). The JSON shape is documented \
            in the README.

            Records waiting together for the same partner travel in one bundle (see \
            bundle_max_files in gatehouse.toml), so a bundle can list several files. The text \
            form starts with the number of bundles in each state and lists the newest ones; \
            reading a journal of a million bundles takes milliseconds.

            Files the gateway refused at the outbox (an unknown partner, a file it cannot read, a \
            name that cannot be published) never become bundles: they are moved to \
            spool/failed/<time>-<hex>/ with reason.txt, and the text form lists them after the \
            bundles, with the reason. --refused lists only them (with --json, as an array).

            Examples:
              gatehouse status
              gatehouse status --limit 500
              gatehouse status 1b7ddb06a713afcafe9a3b7a411677de
              gatehouse status 1b7d
              gatehouse status --json --limit 0
              gatehouse status --refused --json
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("List at most this many bundles, newest first; 0 lists all. Default: 50, or 1000 with --json.", valueName: "n"))
    var limit: Int?

    @Flag(name: .long, help: "List the files the gateway refused at the outbox (spool/failed/), with reasons.")
    var refused = false

    @Argument(help: ArgumentHelp("Show one bundle with its files and history: its id, or its first 4 or more digits.",
                                 valueName: "bundle-id"))
    var bundleID: String?

    func validate() throws {
        if refused, bundleID != nil { throw ValidationError("--refused lists refused files; it takes no bundle id") }
    }

    func run() throws {
        let home = try homeOptions.readable()
        let spool = SpoolLayout(home: home)
        if let limit, limit < 0 {
            throw CommandFailure(status: .invalidInput, message: "--limit must be 0 (all) or more, not \(limit)",
                                 hint: "`gatehouse status --limit 0` lists every bundle")
        }
        if refused {
            let report = try RefusedFilesReport(spool: spool, home: home)
            if json { return print(report.json.text) }
            guard !report.files.isEmpty else { return print("No refused files in \(spool.failed)/.") }
            return report.printText(spool: spool, limit: limit ?? 0)
        }
        // Key warnings need the own card in keys/, which an operator account may not read.
        if !json, access(home.keysPath, X_OK) == 0 {
            // Key and manifest expiry warnings first: they need someone to act (see `gatehouse keys status`).
            let now = KeyStore.now()
            let own = try KeyStore(home: home).loadOwnCard()
            for warning in KeyWarnings.warnings(own: own, partners: (try? PartnerStore(home: home).list()) ?? [], now: now) {
                print("WARNING: \(warning.message)")
            }
        }
        if let bundleID { _ = try BundleReference.prefix(bundleID) }
        guard let journal = try JournalOpener.openForReading(home: home) else {
            // No journal yet: the gateway has never run here.
            if json { return print("[]") }
            return print("Nothing yet: `gatehouse run` has not run in \(home.path).")
        }
        // After the bundles, whatever happens to them: a refused file needs someone to act.
        defer { if !json, bundleID == nil { Self.printRefused(spool: spool, home: home, limit: limit ?? 50) } }
        if let bundleID {
            let record = try BundleReference.outgoing(bundleID, in: journal, home: home)
            let document = OutgoingDocument(record, files: try journal.files(of: record.bundleID), history: try journal.transitions(of: record.bundleID))
            if json { return print(document.json.text) }
            document.printDetail()
            return
        }
        let shown = limit ?? (json ? 1000 : 50)
        let documents = try journal.newestOutgoing(limit: shown == 0 ? Int.max : shown).map { OutgoingDocument($0.record, files: $0.files, history: nil) }
        if json { return print(JSONText.array(documents.map(\.json)).text) }
        guard !documents.isEmpty else { return print("No outgoing bundles. Drop records into spool/outbox/<ODS>/ while `gatehouse run` is running.") }
        let counts = try journal.outgoingCounts()
        let total = counts.values.reduce(0, +)
        let byState = OutgoingState.allCases.compactMap { state in counts[state].map { "\($0) \(state.rawValue)" } }
        print("\(total) bundle\(total == 1 ? "" : "s"): \(byState.joined(separator: ", "))")
        if documents.count < total { print("Newest \(documents.count) (--limit N shows more):") }
        var table = TextTable(header: ["BUNDLE", "PARTNER", "STATE", "FILES", "UPDATED", "LAST ERROR"])
        for d in documents {
            table.rows.append([d.bundleID, d.partner, d.state, String(d.files.count), d.updatedAt, d.lastError ?? ""])
        }
        table.lines.forEach { print($0) }
    }
}

extension StatusCommand {
    /// The refused files after the bundle list; a `spool/failed/` this user cannot read is a
    /// warning here (the bundles were shown), and an error with `--refused`.
    static func printRefused(spool: SpoolLayout, home: GatehouseHome, limit: Int) {
        do {
            let report = try RefusedFilesReport(spool: spool, home: home)
            if !report.files.isEmpty { print("") }
            report.printText(spool: spool, limit: limit)
        } catch {
            print("WARNING: refused files cannot be listed: \(error.message)")
        }
    }
}

/// One outgoing bundle as `status --json` prints it (the README shows the shape).
struct OutgoingDocument {
    struct File { let name: String; let size: Int64 }
    struct Step { let state: String; let at: String; let detail: String? }

    let bundleID: String, partner: String, state: String
    let files: [File]
    let createdAt: String, updatedAt: String, expiresAt: String
    let attempts: Int
    let nextAttemptAt: String?
    let lastError: String?
    let bundleSHA256: String?
    let history: [Step]?

    /// Written with JSONText, not JSONEncoder: a thousand of these are printed by default.
    var json: JSONText {
        .fields([
            "bundle_id": .string(bundleID), "partner": .string(partner), "state": .string(state),
            "files": .array(files.map { .fields(["name": .string($0.name), "size": .integer($0.size)]) }),
            "created_at": .string(createdAt), "updated_at": .string(updatedAt), "expires_at": .string(expiresAt),
            "attempts": .integer(attempts), "next_attempt_at": nextAttemptAt.map(JSONText.string),
            "last_error": lastError.map(JSONText.string), "bundle_sha256": bundleSHA256.map(JSONText.string),
            "history": history.map { steps in
                .array(steps.map { .fields(["state": .string($0.state), "at": .string($0.at), "detail": $0.detail.map(JSONText.string)]) })
            },
        ])
    }

    init(_ r: OutgoingRecord, files: [OutgoingFile], history: [Transition]?) {
        bundleID = r.bundleID.hex
        partner = r.partner.value
        state = r.state.rawValue
        self.files = files.map { File(name: $0.name, size: $0.size) }
        createdAt = JSONOutput.time(r.createdAt)
        updatedAt = JSONOutput.time(r.updatedAt)
        expiresAt = JSONOutput.time(r.expiresAt)
        attempts = r.attempts
        nextAttemptAt = (r.state == .queued || r.state == .sealed) ? JSONOutput.time(r.nextAttemptAt) : nil
        lastError = r.lastError
        bundleSHA256 = r.bundleSHA256
        self.history = history?.map { Step(state: $0.state, at: JSONOutput.time($0.at), detail: $0.detail) }
    }

    func printDetail() {
        print("bundle:      \(bundleID)")
        print("partner:     \(partner)")
        print("state:       \(state)\(lastError.map { " (\($0))" } ?? "")")
        print("created:     \(createdAt); expires \(expiresAt)")
        print("attempts:    \(attempts)\(nextAttemptAt.map { ", next at \($0)" } ?? "")")
        if let bundleSHA256 { print("sha256:      \(bundleSHA256)") }
        for file in files { print("file:        \(file.name) (\(file.size) bytes)") }
        for step in history ?? [] { print("  \(step.at)  \(step.state)\(step.detail.map { ": \($0)" } ?? "")") }
    }
}

/// Shared JSON output conventions: sorted keys, pretty, RFC 3339 UTC times.
enum JSONOutput {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// RFC 3339 UTC with milliseconds (`2026-11-25T09:30:00.125Z`) for milliseconds since the epoch.
    static func time(_ milliseconds: Int64) -> String { RFC3339.format(milliseconds: milliseconds) ?? String(milliseconds) }
}
