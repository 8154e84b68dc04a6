import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// `gatehouse inbox [--nhs-number N] [--workflow NAME] [--since TIME] [--json]`.
struct InboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox",
        abstract: "List what has been received: published packs with what they are about, and refused bundles.",
        discussion: """
            Each pack is shown with its sender (code and name, from the pinned card), its \
            workflow, subject and NHS numbers, where it was published and its files, all from \
            the verified manifest. Published packs are under spool/received/<sender>/<bundle id>/ \
            (or the [publish] folder, readable by its group, or their workflow's folder, \
            [workflows.NAME] in gatehouse.toml) with the verified \
            manifest (.gatehouse-manifest.json). Refused bundles are under spool/quarantine/ with \
            the reason. Held bundles (state held) come from an organisation whose card is not \
            added here: they are kept unopened under spool/held/, shown with the sender they \
            claim and the reason, and opened as soon as `gatehouse partners add` adds that card \
            (the running gateway notices within a second). The filters combine; a refused or \
            held bundle has no verified workflow or NHS numbers, so it matches neither of those \
            filters. The JSON shape is documented in the README.

            Examples:
              gatehouse inbox
              gatehouse inbox --nhs-number "999 000 0018"
              gatehouse inbox --workflow reception-summary --since 2h
              gatehouse inbox --since 2026-11-25T00:00:00Z --json
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(name: .customLong("nhs-number"), help: ArgumentHelp(
        "Only packs about this patient (spaces allowed: \"999 000 0018\").", valueName: "number"),
            transform: InboxCommand.nhsNumber)
    var nhsNumber: String?

    @Option(help: ArgumentHelp("Only packs of this workflow (e.g. reception-summary).", valueName: "name"),
            completion: .list(Workflow.standard.map(\.value)), transform: InboxCommand.workflow)
    var workflow: Workflow?

    @Option(help: ArgumentHelp("Only what arrived at or after this time: \(PointInTime.expected).", valueName: "time"),
            transform: TimeArgument.parse)
    var since: UInt64?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        typealias File = PublishedFile
        let bundleID: String, sender: String, senderName: String?, state: String, receivedAt: String
        let path: String?, reason: String?
        let subject: String?, workflow: String?, nhsNumbers: [String]?
        let files: [File]
        enum CodingKeys: String, CodingKey {
            case bundleID = "bundle_id", sender, senderName = "sender_name", state, receivedAt = "received_at"
            case path, reason, subject, workflow, nhsNumbers = "nhs_numbers", files
        }
    }

    static func nhsNumber(_ text: String) throws -> String {
        let digits = NHSNumber.normalise(text)
        guard NHSNumber.isValid(digits) else { throw ValidationError(NHSNumber.invalidMessage(digits)) }
        return digits
    }

    static func workflow(_ text: String) throws -> Workflow {
        do { return try Workflow(text) } catch { throw ValidationError(error.detail) }
    }

    func run() throws {
        let home = try homeOptions.readable()
        guard let journal = try JournalOpener.openForReading(home: home) else {
            // No journal yet: the gateway has never run here.
            if json { return print("[]") }
            return print("Nothing yet: `gatehouse run` has not run in \(home.path).")
        }
        var filter = IncomingFilter()
        filter.since = since.map { Int64($0) * 1000 }
        filter.workflow = workflow
        filter.nhsNumber = nhsNumber
        let partners = PartnerStore(home: home)
        var names: [ODSCode: String?] = [:]
        let entries = try journal.incoming(matching: filter).map { r, pack in
            let name = r.sender.flatMap { sender in
                names[sender] ?? (try? partners.resolvedCard(for: sender))?.name
            }
            if let sender = r.sender { names[sender] = name }
            return Entry(bundleID: r.bundleID.hex, sender: r.senderText, senderName: name, state: r.state.rawValue,
                         receivedAt: JSONOutput.time(r.receivedAt), path: r.publishedPath, reason: r.reason,
                         subject: pack?.context.subject, workflow: pack?.context.workflow.value,
                         nhsNumbers: pack.flatMap { $0.context.nhsNumbers.isEmpty ? nil : $0.context.nhsNumbers },
                         files: r.publishedFiles)
        }
        if json { return print(try JSONOutput.encode(entries)) }
        guard !entries.isEmpty else {
            let filtered = nhsNumber != nil || workflow != nil || since != nil
            return print(filtered ? "Nothing received matches." : "Nothing received yet.")
        }
        for e in entries {
            // A held bundle's sender is only claimed: nothing about it could be checked yet.
            let held = e.state == IncomingState.held.rawValue
            let name = held ? " (claimed; its card is not added here)" : e.senderName.map { " (\($0))" } ?? ""
            print("\(e.receivedAt)  \(e.bundleID)  from \(e.sender)\(name)  \(e.state)")
            if let workflow = e.workflow { print("    workflow:    \(workflow)") }
            if let subject = e.subject, !subject.isEmpty { print("    subject:     \(subject)") }
            if let numbers = e.nhsNumbers {
                print("    NHS numbers: \(numbers.map(NHSNumber.spaced).joined(separator: ", "))")
            }
            if let path = e.path { print("    folder:      \(path)") }
            if let reason = e.reason { print("    reason: \(reason)") }
            for f in e.files { print("    \(f.sha256)  \(f.size)  \(f.name)") }
        }
    }
}
