import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import Logging

extension NetworkCommand {
    /// `gatehouse network join NETWORK_CARD [--yes] [--replace]`.
    struct Join: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pin a network's card, after comparing its fingerprint once.",
            discussion: """
                Examples:
                  gatehouse network join england.network-card
                """)

        @OptionGroup var homeOptions: HomeOptions
        @Argument(help: ArgumentHelp("The network's card file.", valueName: "card"))
        var cardFile: String
        @Flag(help: "The fingerprint has already been compared: do not ask.")
        var yes = false
        @Flag(help: "Leave the network pinned so far for this one (the copy of its log is discarded).")
        var replace = false

        func run() throws {
            let home = try homeOptions.initialised()
            let bytes: [UInt8]?
            do {
                bytes = try FileOperations.read(at: cardFile, limit: NetworkCard.maxTextLength, followingLinks: true)
            } catch {
                throw CommandFailure.unreadableInput(error.message)
            }
            guard let bytes else { throw CommandFailure.unreadableInput("cannot read \(cardFile): no such file") }
            let card: NetworkCard
            do { card = try NetworkCard.parse(String(decoding: bytes, as: UTF8.self)) } catch {
                throw CommandFailure(
                    status: .partnerProblem, message: "\(cardFile) is not a network card: \(error.detail)",
                    hint: "ask the network authority for `gatehouse network export-card` output, unchanged")
            }
            print("network:        \(card.network)")
            print("fingerprint:    \(card.fingerprint)")
            try CardInput.confirm(
                "Does the fingerprint match the one the network published?", assumeYes: yes,
                otherwise: .notConfirmed("the network \(card.network) was not joined"))
            try DirectoryClient(home: home).join(card, replace: replace)
            print("Joined \(card.network). Run `gatehouse network sync` to fetch its directory.")
        }
    }

    /// `gatehouse network sync [--from DIR]`.
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fetch the directory's new entries and checkpoint, and verify them.",
            discussion: """
                Reads the signed checkpoint and the entry bundles it adds from the relay where this \
                gateway collects its mail (its read-only /directory/), or from DIR (a copy of the \
                published folder), checks the signature, that the log only grew \
                from the checkpoint trusted so far, and every new entry, then keeps them. A \
                rollback or a fork is refused, the offending checkpoint kept under \
                directory/evidence/, and the command exits with status 8. While proof of a fork \
                is kept there, nothing new is trusted ("directory halted", status 8): move the \
                files out of directory/evidence/ once the authority has dealt with it.

                Examples:
                  gatehouse network sync
                  gatehouse network sync --from /srv/relay/directory
                """)

        @OptionGroup var homeOptions: HomeOptions
        @Option(
            name: .customLong("from"),
            help: ArgumentHelp(
                "Read the published directory from this folder instead of the relay.",
                valueName: "dir"))
        var source: String?

        func run() async throws {
            let home = try homeOptions.initialised()
            let outcome: DirectoryClient.SyncOutcome
            if let source {
                outcome = try DirectoryClient(home: home).sync(from: TileFolder(path: source))
            } else {
                let own = try KeyStore(home: home).loadOwnCard()
                let connector = MailboxConnector(
                    home: home, own: own, config: try GatehouseConfig.load(home: home),
                    logger: Logger(label: "gatehouse"))
                outcome = try await DirectoryFetcher(home: home, own: own, connector: connector).sync()
            }
            // Checkpoints seen from partners that were ahead of this copy can be judged now.
            if case .updated = outcome, let fork = try DirectoryClient(home: home).compareSeen().first {
                throw CommandFailure(
                    status: .integrityCheckFailed,
                    message:
                        "the network signed a checkpoint, seen from a partner, that contradicts the directory trusted "
                            + "here",
                    hint:
                        "the two checkpoints are kept in \(fork) and beside it: tell the network authority and your "
                            + "security officer"
                )
            }
            // The own ODS code listed with another root key: someone else was admitted as us.
            if case .updated = outcome,
                let watch = try DirectoryClient(home: home).watch(own: try KeyStore(home: home).loadOwnCard()),
                watch.ownListingIsForeign, let listing = watch.ownListing
            {
                throw CommandFailure(
                    status: .integrityCheckFailed,
                    message:
                        "the directory lists \(listing.admission.org) at entry \(listing.index) with another root key "
                        + "(fingerprint \(listing.card.fingerprint)) than this organisation's",
                    hint: "call the network authority now: someone else may have been admitted under this ODS code")
            }
            switch outcome {
            case .updated(let range):
                print(
                    range.isEmpty
                        ? "The directory is up to date: \(range.upperBound) entries."
                        : "Verified \(range.count) new entries: the directory holds \(range.upperBound).")
            case .refused(let refusal, let evidence) where { if case .halted = refusal { true } else { false } }():
                throw CommandFailure(
                    status: .integrityCheckFailed, message: refusal.description,
                    hint:
                        "the proof is \(evidence) and the checkpoint beside it: send them to the network authority "
                            + "and your security officer; once they are dealt with, move them out of "
                            + "directory/evidence/"
                )
            case .refused(let refusal, let evidence):
                throw CommandFailure(
                    status: .integrityCheckFailed, message: refusal.description,
                    hint:
                        "the checkpoint was refused and kept in \(evidence); tell the network authority and your "
                            + "security officer"
                )
            case .unwitnessed(let cosigned, let required):
                throw CommandFailure(
                    status: .integrityCheckFailed,
                    message: "the directory's new checkpoint has \(cosigned) of the \(required) witness cosignatures "
                        + "this gateway requires; the one trusted before stays in force",
                    hint: "try again once the witnesses have cosigned it (`gatehouse network witness cosign`)")
            }
        }
    }
}
