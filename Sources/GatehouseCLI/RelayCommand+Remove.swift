import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseRelay

extension RelayCommand {
    /// `gatehouse relay remove ODS [--yes]`.
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take an organisation off the relay: its key, its mailbox, its open sessions.",
            discussion: """
                Shows the registered card and asks for confirmation (--yes skips the question). \
                authorized_keys is written without the organisation's key, so its gateway can no \
                longer log in; its open sessions end; partners can no longer deliver to it. Its \
                card and its mailbox, with whatever mail still waits there, move to \
                removed/ODS-TIME/ in the relay's folder: nothing is deleted. Each removal (and \
                each registration) is a line in the relay's audit/audit.jsonl.

                Examples:
                  gatehouse relay remove --home /srv/relay Q12345
                  gatehouse relay remove --home /srv/relay Q12345 --yes
                """)

        @OptionGroup var options: RelayOptions

        @Argument(help: ArgumentHelp("The organisation's ODS code.", valueName: "ods"), transform: ODSCode.fromArgument)
        var org: ODSCode

        @Flag(help: "Do not ask for confirmation.")
        var yes = false

        func run() throws {
            let relay = options.relay
            _ = try options.explained { try $0.settings() }
            let card = try relay.cards().first { $0.org == org }
            if let card {
                print("Registered identity card of \(org):")
                print(CardSummary.lines(for: card))
            }
            let waiting = relay.mailboxContents(org) ?? []
            if !waiting.isEmpty {
                print("WARNING: \(waiting.count) file(s) wait in \(org)'s mailbox; they are kept, not delivered.")
            }
            try CardInput.confirm("Remove \(org) from this relay? Its gateway can no longer log in.", assumeYes: yes,
                                  otherwise: .notConfirmed("\(org) was not removed"))
            let kept = try relay.remove(org, gatehouse: try RelayBinary.path(), now: KeyStore.now())
            RelayAudit.record(AuditEvent("relay-removed", org: org.value, detail: [
                card.map { "root \($0.fingerprint)" }, "\(waiting.count) file(s) in the mailbox", "kept in \(kept)",
            ].compactMap { $0 }.joined(separator: "; ")), relay: relay)
            print("Removed \(org) from the relay; its card and mailbox are kept in \(kept).")
        }
    }
}

/// The relay's audit log, `audit/audit.jsonl` in its folder: hash-chained like a gateway's,
/// without checkpoints (a relay has no signing key).
enum RelayAudit {
    static func record(_ event: AuditEvent, relay: Relay) {
        do { try AuditLog(home: GatehouseHome(path: relay.path)).append(event) } catch {
            let warning = "gatehouse: warning: could not write the relay's audit log: \(error)\n"
            FileHandle.standardError.write(Data(warning.utf8))
        }
    }
}
