import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// `gatehouse partners …`: the identity cards of the organisations this one exchanges with.
struct PartnersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partners",
        abstract: "Import, list and remove partner organisations' identity cards.",
        discussion: """
            Examples:
              gatehouse partners add YOI123.card
              gatehouse partners list
              gatehouse partners remove YOI123
            """,
        subcommands: [Add.self, List.self, Remove.self]
    )

    /// `gatehouse partners add CARD [--yes] [--replace]`.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pin a partner's identity card after comparing its fingerprint by phone.",
            discussion: """
                Prints the card's organisation, key ids and root fingerprint, then asks whether \
                the fingerprint matches what the partner read to you over the phone. Nothing is \
                stored unless you answer y (or pass --yes). A card with a different root key than \
                the one already pinned is refused unless you pass --replace. Creates the \
                partner's drop folder, spool/outbox/ODS/. Bundles from that partner held while \
                its card was missing (`gatehouse inbox` lists them as held) are opened by the \
                running gateway within about a second, or when it next starts.

                Examples:
                  gatehouse partners add YOI123.card
                  gatehouse partners add YOI123.card --replace    # after a phone call about new keys
                """
        )

        @OptionGroup var homeOptions: HomeOptions

        @Argument(help: ArgumentHelp("The identity card file (an email around it is fine).", valueName: "card"))
        var cardFile: String

        @Flag(help: "The fingerprint has already been compared: do not ask.")
        var yes = false

        @Flag(help: "Replace the root key pinned for this organisation (after a new fingerprint check).")
        var replace = false

        func run() throws {
            let card = try readCard()
            let store = try PartnerStore(home: homeOptions.initialised())
            let outcome = try store.plannedOutcome(for: card, replace: replace)
            print("Identity card from \(cardFile):")
            print(CardSummary.lines(for: card))
            switch outcome {
            case .unchanged:
                print("This card is already pinned for \(card.org); nothing changed.")
                return try PartnerOutbox.create(card.org, home: store.home)
            case .updated:
                // Signed by the root key pinned earlier, so no new phone check is needed.
                print("Signed by the root key already pinned for \(card.org): updating its keys (manifest version \(card.manifest.version)).")
            case .rootRotated:
                print("A new root key for \(card.org), endorsed by the root key pinned earlier: pinning it without a new phone check.")
            case .added, .replaced:
                if outcome == .replaced, let old = try store.card(for: card.org) {
                    print("WARNING: this replaces the root key pinned for \(card.org) (fingerprint \(old.fingerprint)).")
                }
                try confirm(card.org)
            }
            try store.add(card, replace: replace)
            try PartnerOutbox.create(card.org, home: store.home)
            let event = switch outcome {
            case .added: "partner-added"
            case .replaced: "partner-replaced"
            case .rootRotated: "partner-root-rotated"
            default: "partner-updated"
            }
            CommandAudit.record(AuditEvent(event, org: card.org.value, detail: "manifest \(card.manifest.version); root \(card.fingerprint); signing \(card.signingKeyID); encryption \(card.encryptionKeyID)"),
                                home: try homeOptions.initialised())
            print("\(outcome == .added ? "Pinned" : "Updated") \(card.org) (\(card.name)). Records for it go into "
                  + "\(PartnerOutbox.path(card.org, home: store.home))/.")
            let held = heldCount(from: card.org, home: store.home)
            if held > 0 {
                let them = held == 1 ? "it" : "them"
                print("\(held) bundle\(held == 1 ? "" : "s") from \(card.org) held for this card: the running gateway "
                      + "opens \(them) within about a second (or when it next starts); see `gatehouse inbox`.")
            }
        }

        /// How many bundles claiming to be from `org` the journal says are held (0 when it cannot be read).
        private func heldCount(from org: ODSCode, home: GatehouseHome) -> Int {
            let journal = try? JournalOpener.openForReading(home: home)
            return ((try? journal?.heldIncoming()) ?? []).count { $0.sender == org }
        }

        private func readCard() throws -> IdentityCard { try CardInput.read(cardFile) }

        private func confirm(_ org: ODSCode) throws { try CardInput.confirmFingerprint(of: org, assumeYes: yes) }
    }

    /// `gatehouse partners list [--json]`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List partners: pinned ones, then those known from the directory.",
            discussion: """
                STALE marks a partner whose key manifest has expired or expires within 30 days. \
                With --json, own_manifest_confirmed is the version of this organisation's key \
                manifest that the partner's gateway confirmed with a signed receipt (0: none \
                yet); the running gateway sends each new version until it is confirmed.

                Examples:
                  gatehouse partners list
                  gatehouse partners list --json
                """)

        @OptionGroup var homeOptions: HomeOptions

        @Flag(help: "Print a JSON array (org, name, fingerprint, manifest_version, signing_key_id, encryption_key_id, created, expires, stale, own_manifest_confirmed, own_manifest_sent).")
        var json = false

        /// One partner in `--json` output; keys are sorted by the encoder, so output is stable.
        struct Entry: Encodable {
            let org: String
            let name: String
            let fingerprint: String
            let manifest_version: UInt64
            let signing_key_id: String
            let encryption_key_id: String
            let created: String
            let expires: String
            /// Set when the manifest held has expired or expires within 30 days (no newer one came).
            let stale: Bool
            /// The version of this organisation's own key manifest the partner's gateway confirmed
            /// with a signed receipt, and the latest version sent to it (0: none; versions start at 1).
            let own_manifest_confirmed: UInt64
            let own_manifest_sent: UInt64
            /// `pinned`, or `directory` for a partner known only from the verified directory.
            let source: String
            /// The directory entry that admits it (directory partners only).
            let directory_entry: UInt64?
        }

        func run() throws {
            let home = try homeOptions.initialised()
            let cards = try PartnerStore(home: home).list()
            let ledger = ManifestLedger(home: home)
            let now = KeyStore.now()
            // The own organisation is in the directory too, but is nobody's partner.
            let pinned = Set(cards.map(\.org) + [try KeyStore(home: home).loadOwnCard().org])
            let listed = try DirectoryClient(home: home).partners(now: now).filter { !pinned.contains($0.card.org) }
            if json {
                let directory = try listed.map { partner in
                    // The newer card the partner sent since its admission, if any (DIRECTORY.md §7.3).
                    let known = try PartnerStore(home: home).knownCard(for: partner.card.org, now: now)
                    let card = known?.card ?? partner.card
                    let delivery = ledger.delivery(to: card.org)
                    return Entry(org: card.org.value, name: card.name, fingerprint: card.fingerprint,
                                 manifest_version: card.manifest.version, signing_key_id: card.signingKeyID.hex,
                                 encryption_key_id: card.encryptionKeyID.hex, created: card.createdText,
                                 expires: card.expiresText, stale: KeyWarnings.isStale(card, now: now),
                                 own_manifest_confirmed: delivery.confirmed ?? 0,
                                 own_manifest_sent: delivery.sent.last?.version ?? 0,
                                 source: "directory", directory_entry: partner.index)
                }
                let entries = cards.map {
                    let delivery = ledger.delivery(to: $0.org)
                    return Entry(org: $0.org.value, name: $0.name, fingerprint: $0.fingerprint, manifest_version: $0.manifest.version,
                                 signing_key_id: $0.signingKeyID.hex, encryption_key_id: $0.encryptionKeyID.hex, created: $0.createdText,
                                 expires: $0.expiresText, stale: KeyWarnings.isStale($0, now: now),
                                 own_manifest_confirmed: delivery.confirmed ?? 0, own_manifest_sent: delivery.sent.last?.version ?? 0,
                                 source: "pinned", directory_entry: nil)
                } + directory
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                // Foundation pretty-prints an empty array as "[\n\n]"; keep it the plain "[]".
                print(entries.isEmpty ? "[]" : String(decoding: try encoder.encode(entries), as: UTF8.self))
            } else if cards.isEmpty && listed.isEmpty {
                print("No partners yet. Import a card with `gatehouse partners add CARD`.")
            } else {
                for card in cards {
                    let stale = KeyWarnings.isStale(card, now: now) ? "\tSTALE (expires \(card.expiresText))" : ""
                    print("\(card.org)\t\(card.fingerprint)\tmanifest \(card.manifest.version)\t\(card.name)\(stale)")
                }
                // Partners known only from the directory: no pinned card, no phone call.
                for partner in listed {
                    print("\(partner.card.org)\t\(partner.card.fingerprint)\tdirectory entry \(partner.index)\t\(partner.card.name)")
                }
            }
        }
    }
}

/// Reading a card a person was sent, and asking them to confirm its fingerprint.
enum CardInput {
    /// Reads and verifies the identity card in `file` (an email around it is fine).
    static func read(_ file: String) throws -> IdentityCard {
        let read: [UInt8]?
        do {
            read = try FileOperations.read(at: file, limit: IdentityCard.maxTextLength, followingLinks: true)
        } catch {
            // A FIFO or device named here is refused at once (never read, so never waited on).
            if error.category == .notRegularFile { throw error }
            throw CommandFailure.unreadableInput(error.message)
        }
        guard let bytes = read else { throw CommandFailure.unreadableInput("cannot read \(file): no such file") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CommandFailure.invalidCard(file, .malformed("the file is not UTF-8 text"))
        }
        do { return try IdentityCard.parse(text) } catch { throw CommandFailure.invalidCard(file, error) }
    }

    /// Asks whether the fingerprint matches what `org` read out; anything but y or yes refuses.
    static func confirmFingerprint(of org: ODSCode, assumeYes: Bool) throws {
        try confirm("Does the fingerprint match what \(org) read to you?", assumeYes: assumeYes,
                    otherwise: .fingerprintNotConfirmed(org))
    }

    /// Asks `question`; anything but y or yes throws `refusal`. No input at all (a closed or
    /// empty stdin) counts as "no".
    static func confirm(_ question: String, assumeYes: Bool, otherwise refusal: CommandFailure) throws {
        guard !assumeYes else { return }
        print("\(question) [y/N] ", terminator: "")
        fflush(nil)
        let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased()
        guard answer == "y" || answer == "yes" else { throw refusal }
    }
}
