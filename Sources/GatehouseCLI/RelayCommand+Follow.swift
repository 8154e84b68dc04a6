import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseRelay

extension RelayCommand {
    /// `gatehouse relay follow [NETWORK_CARD] [--from DIR] [--yes]`.
    struct Follow: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register every organisation a network's directory admits, and remove those it drops.",
            discussion: """
                The first time, give the network's card (compare its fingerprint). Each run \
                verifies the directory published in the relay's directory/ folder (or --from DIR) \
                from the checkpoint trusted before, registers every organisation admitted now \
                (its SSH key and mailbox), and takes off those this command registered that the \
                directory revoked or no longer admits. Organisations added by hand with `relay \
                add` are left alone. Run it after each `network publish --to`, or from a timer.

                Examples:
                  gatehouse relay follow --home /srv/relay england.network-card
                  gatehouse relay follow --home /srv/relay
                  gatehouse relay follow --home /srv/relay --every 1     # keep following, for a systemd unit
                """)

        @OptionGroup var options: RelayCommand.RelayOptions
        @Argument(help: ArgumentHelp("The network's card (the first time only).", valueName: "card"))
        var cardFile: String?
        @Option(
            name: .customLong("from"),
            help: ArgumentHelp("Read the published directory from this folder.", valueName: "dir"))
        var source: String?
        @Flag(help: "The network's fingerprint has already been compared: do not ask.")
        var yes = false
        @Option(help: ArgumentHelp(
            "Keep following: look again every this many seconds (1 to 3600) until stopped.", valueName: "seconds"))
        var every: Int?

        func run() throws {
            let relay = options.relay
            _ = try options.explained { try $0.settings() }
            var card: NetworkCard?
            if let cardFile {
                guard
                    let bytes = try FileOperations.read(
                        at: cardFile, limit: NetworkCard.maxTextLength, followingLinks: true)
                else {
                    throw CommandFailure.unreadableInput("cannot read \(cardFile): no such file")
                }
                do { card = try NetworkCard.parse(String(decoding: bytes, as: UTF8.self)) } catch {
                    throw CommandFailure(
                        status: .partnerProblem, message: "\(cardFile) is not a network card: \(error.detail)",
                        hint: nil)
                }
                print("network:        \(card!.network)")
                print("fingerprint:    \(card!.fingerprint)")
                try CardInput.confirm(
                    "Does the fingerprint match the one the network published?", assumeYes: yes,
                    otherwise: .notConfirmed("the network \(card!.network) was not followed"))
            }
            guard let every else { return try once(relay, card: card) }
            guard (1...3600).contains(every) else { throw ValidationError("--every must be 1 to 3600 seconds") }
            // A loop for a systemd unit: each round is one `relay follow`; a refusal is reported and
            // the next round tries again (the evidence is kept each time).
            var first = card
            while true {
                do { try once(relay, card: first, quiet: true) } catch {
                    FileHandle.standardError.write(Data("gatehouse: error: \(error)\n".utf8))
                }
                first = nil
                sleep(UInt32(every))
            }
        }

        /// One round; with `quiet`, prints only when something changed.
        func once(_ relay: Relay, card: NetworkCard?, quiet: Bool = false) throws {
            let report = try relay.follow(
                card: card, source: source.map(TileFolder.init(path:)), gatehouse: try RelayBinary.path())
            if case .refused(let refusal, let evidence) = report.outcome {
                throw CommandFailure(
                    status: .integrityCheckFailed, message: refusal.description,
                    hint:
                        "nothing was registered or removed; the checkpoint was kept in \(evidence): tell the network "
                            + "authority"
                )
            }
            for org in report.registered {
                RelayAudit.record(
                    AuditEvent("relay-registered", org: org.value, detail: "from the directory"), relay: relay)
            }
            for org in report.removed {
                RelayAudit.record(
                    AuditEvent("relay-removed", org: org.value, detail: "dropped by the directory"), relay: relay)
            }
            let skipped =
                report.skipped.isEmpty
                ? ""
                : "; \(report.skipped.count) admitted without an SSH key: "
                    + "\(report.skipped.map(\.value).joined(separator: ", "))"
            if quiet && report.registered.isEmpty && report.removed.isEmpty { return }
            print("Registered \(report.registered.count), removed \(report.removed.count)\(skipped).")
            fflush(nil)
        }
    }
}
