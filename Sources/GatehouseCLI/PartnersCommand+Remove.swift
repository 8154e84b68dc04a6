import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

extension PartnersCommand {
    /// `gatehouse partners remove ODS [--yes] [--force]`.
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop exchanging records with a partner: unpin its card, keeping it and all evidence.",
            discussion: """
                Shows the partner's card and asks for confirmation (--yes skips the question). \
                Nothing more is sent to it, and bundles and receipts it signs are refused as from \
                an unknown sender. Its card moves to partners/removed/ODS-TIME.card, so receipts \
                from the partnership can still be checked (`gatehouse receipt show`); the journal, \
                the audit log, spool/evidence/, spool/sent/ and spool/received/ODS/ are kept as \
                they are. Its empty drop folder spool/outbox/ODS/ goes.

                Refused while bundles to the partner are still on their way (queued, sealed or \
                delivered without a receipt) or records wait in spool/outbox/ODS/: they would \
                fail or expire unacknowledged. Wait until `gatehouse status` shows them \
                acknowledged, failed or expired, or pass --force.

                Examples:
                  gatehouse partners remove YOI123
                  gatehouse partners remove YOI123 --yes --force
                """)

        @OptionGroup var homeOptions: HomeOptions

        @Argument(help: ArgumentHelp("The partner's ODS code.", valueName: "ods"), transform: ODSCode.fromArgument)
        var org: ODSCode

        @Flag(help: "Do not ask for confirmation.")
        var yes = false

        @Flag(help: "Remove it even with bundles on their way or records waiting to be sent to it.")
        var force = false

        func run() throws {
            let home = try homeOptions.initialised()
            let store = PartnerStore(home: home)
            let card = try store.requireCard(for: org)
            print("Pinned identity card of \(org):")
            print(CardSummary.lines(for: card))
            let open = try openBundles(home)
            let outbox = PartnerOutbox.path(org, home: home), waiting = PartnerOutbox.waiting(org, home: home)
            var unfinished: [String] = []
            if open > 0 { unfinished.append("\(open) bundle\(open == 1 ? "" : "s") to \(org) not yet acknowledged") }
            if !waiting.isEmpty { unfinished.append("\(waiting.count) file(s) waiting in \(outbox)") }
            let pending = unfinished.joined(separator: " and ")
            if !pending.isEmpty {
                guard force else {
                    throw CommandFailure(
                        status: .partnerProblem, message: "\(org) still has \(pending); nothing was changed",
                        hint: "wait until `gatehouse status` shows them acknowledged, failed or expired (and "
                            + "the outbox folder is empty), or pass --force to remove \(org) now: they then fail or "
                            + "expire without a receipt")
                }
                print("WARNING: \(pending): without \(org)'s card they fail or expire unacknowledged.")
            }
            try CardInput.confirm("Remove \(org)? Nothing more can be sent to it or received from it.", assumeYes: yes,
                                  otherwise: .notConfirmed("\(org) was not removed"))
            let kept = try store.remove(org)
            // Only an empty folder: records dropped there are never deleted (the gateway reports
            // them as refused, for a partner it does not know).
            if waiting.isEmpty { rmdir(outbox) }
            let detail = "manifest \(card.manifest.version); root \(card.fingerprint); card kept in \(kept)"
                + (pending.isEmpty ? "" : "; forced with \(pending)")
            CommandAudit.record(AuditEvent("partner-removed", org: org.value, detail: detail), home: home)
            print("Removed \(org) (\(card.name)). Its card is kept in \(kept); evidence, receipts and records stay "
                  + "where they are.")
        }

        /// Bundles to the partner still open in the journal (none when the gateway never ran).
        private func openBundles(_ home: GatehouseHome) throws -> Int {
            guard let journal = try JournalOpener.openForReading(home: home) else { return 0 }
            return try journal.openOutgoingByPartner().filter { $0.partner == org }.reduce(0) { $0 + $1.count }
        }
    }
}
