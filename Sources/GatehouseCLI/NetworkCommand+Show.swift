import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseKit

extension NetworkCommand {
    /// `gatehouse network show [ODS] [--json]`.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the directory: the authority's log and pending entries, or a gateway's verified copy.",
            discussion: """
                In an authority's home, lists every organisation with its entry index and state \
                (admitted, revoked, pending); in a gateway's home, the verified copy it last \
                synced. With ODS, that organisation only.

                Examples:
                  gatehouse network show
                  gatehouse network show YOI123 --json
                """)

        @OptionGroup var homeOptions: HomeOptions
        @Argument(help: ArgumentHelp("Show only this organisation.", valueName: "ods"))
        var org: String?
        @Flag(help: "Print JSON (network, fingerprint, size, root, time, pending, organisations).")
        var json = false

        struct Row: Encodable {
            let org: String, name: String, index: UInt64, state: String, fingerprint: String
            let valid_from: String, valid_until: String, revoked: String?, reason: String?
        }

        struct Summary: Encodable {
            let network: String, fingerprint: String, size: UInt64, root: String?, time: String?, pending: Int
            let organisations: [Row]
        }

        func run() throws {
            let home = homeOptions.resolved
            let authority = NetworkAuthority(home: home)
            let card: NetworkCard
            let mirror: DirectoryMirror
            let pending: [DirectoryEntry]
            let state: DirectoryState
            if FileManager.default.fileExists(atPath: authority.cardPath) {
                card = try authority.card()
                (mirror, pending, state) = try authority.plannedState()
            } else {
                let client = DirectoryClient(home: home)
                guard let pinned = try client.pinnedCard(), let copy = try client.mirror() else {
                    throw CommandFailure(
                        status: .keyStoreProblem, message: "\(home.path) neither runs nor joined a network",
                        hint:
                            "run `gatehouse network init --name NAME` (an authority) or `gatehouse network join CARD` "
                                + "(a gateway)"
                    )
                }
                card = pinned
                mirror = copy
                pending = []
                state = try DirectoryState(entries: copy.log.entries)
            }
            let only = try org.map { try ODSCode(userInput: $0) }
            let rows = state.listings.values.sorted { $0.index < $1.index }.filter {
                only == nil || $0.admission.org == only
            }.map { listing in
                Row(
                    org: listing.admission.org.value, name: listing.card.name, index: listing.index,
                    state: listing.index >= mirror.log.size
                        ? "pending"
                        : listing.revocation.map { $0.index >= mirror.log.size ? "revocation pending" : "revoked" }
                            ?? "admitted",
                    fingerprint: listing.card.fingerprint,
                    valid_from: RFC3339.format(listing.admission.validFrom) ?? "",
                    valid_until: RFC3339.format(listing.admission.validUntil) ?? "",
                    revoked: listing.revocation.flatMap { RFC3339.format($0.revocation.at) },
                    reason: listing.revocation?.revocation.reason)
            }
            if let only, rows.isEmpty {
                throw CommandFailure(status: .partnerProblem, message: "\(only) is not in the directory", hint: nil)
            }
            let summary = Summary(
                network: card.network, fingerprint: card.fingerprint, size: mirror.log.size,
                root: mirror.body.map { Base64.encode($0.root.bytes) },
                time: mirror.body.flatMap { RFC3339.format($0.time) },
                pending: pending.count, organisations: rows)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(summary), as: UTF8.self))
                return
            }
            print("network:        \(summary.network)")
            print("fingerprint:    \(summary.fingerprint)")
            print("entries:        \(summary.size)\(summary.pending > 0 ? " (+\(summary.pending) pending)" : "")")
            if let root = summary.root, let time = summary.time { print("checkpoint:     \(root) at \(time)") }
            for row in rows {
                let extra = row.reason.map { " (\($0))" } ?? ""
                print("\(row.org)\tentry \(row.index)\t\(row.state)\(extra)\t\(row.name)")
            }
        }
    }
}
