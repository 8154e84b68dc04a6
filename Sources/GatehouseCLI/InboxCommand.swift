import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseJournal
import GatehouseKit

/// `gatehouse inbox [--json]`.
struct InboxCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inbox",
        abstract: "List what has been received: published records and refused bundles.",
        discussion: """
            Published records are under spool/received/<sender>/<bundle id>/ (or the [publish] folder, \
            readable by its group) with their verified \
            manifest (.gatehouse-manifest.json). Refused bundles are under spool/quarantine/ with \
            the reason. The JSON shape is documented in the README.

            Examples:
              gatehouse inbox
              gatehouse inbox --json
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    struct Entry: Encodable {
        struct File: Codable {
            let name: String, size: Int64, sha256: String

            init(from decoder: any Decoder) throws {
                let values = try decoder.container(keyedBy: CodingKeys.self)
                name = try values.decode(String.self, forKey: .name)
                sha256 = try values.decode(String.self, forKey: .sha256)
                // Journals written so far hold sizes as strings; printed as integers, as in
                // `status --json` and every other JSON Gatehouse prints.
                if let text = try? values.decode(String.self, forKey: .size), let size = Int64(text) {
                    self.size = size
                } else {
                    size = try values.decode(Int64.self, forKey: .size)
                }
            }
        }
        let bundleID: String, sender: String, state: String, receivedAt: String
        let path: String?, reason: String?
        let files: [File]
        enum CodingKeys: String, CodingKey {
            case bundleID = "bundle_id", sender, state, receivedAt = "received_at", path, reason, files
        }
    }

    func run() throws {
        let home = try homeOptions.readable()
        guard let journal = try HomeAccess.readable(SpoolLayout(home: home).journal, in: home) ? Journal.openForReading(path: SpoolLayout(home: home).journal) : nil else {
            // No journal yet: the gateway has never run here.
            if json { return print("[]") }
            return print("Nothing yet: `gatehouse run` has not run in \(home.path).")
        }
        let entries = try journal.allIncoming().map { r in
            Entry(bundleID: r.bundleID, sender: r.sender, state: r.state.rawValue, receivedAt: JSONOutput.time(r.receivedAt),
                  path: r.publishedPath, reason: r.reason,
                  files: (r.files.flatMap { try? JSONDecoder().decode([Entry.File].self, from: Data($0.utf8)) }) ?? [])
        }
        if json { return print(try JSONOutput.encode(entries)) }
        guard !entries.isEmpty else { return print("Nothing received yet.") }
        for e in entries {
            print("\(e.receivedAt)  \(e.bundleID)  from \(e.sender)  \(e.state)")
            if let path = e.path { print("    \(path)") }
            if let reason = e.reason { print("    reason: \(reason)") }
            for f in e.files { print("    \(f.sha256)  \(f.size)  \(f.name)") }
        }
    }
}
