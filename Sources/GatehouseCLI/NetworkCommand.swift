import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseKit

/// `gatehouse network …`: the national directory, for its authority and for gateways.
struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Run a network's directory, or join one and follow it.",
        discussion: """
            A network authority admits organisations into an append-only, publicly verifiable \
            log (docs/DIRECTORY.md): `network init`, `admit`, `revoke`, `publish`, `show` and \
            `export-card` run in the authority's own home folder. A gateway pins the network's \
            card once with `network join` and follows the log with `network sync`; it can then \
            exchange records with any admitted organisation without pinning its card.

            Examples:
              gatehouse network init --name directory.nhs.example/england --home /srv/network
              gatehouse network admit A81001.card --home /srv/network
              gatehouse network publish --to /srv/relay/directory --home /srv/network
              gatehouse network join england.network-card
              gatehouse network sync --from /srv/relay/directory
            """,
        subcommands: [
            Init.self, Admit.self, Revoke.self, Publish.self, Show.self, ExportCard.self, ProtectRoot.self,
            RotateRoot.self, Witness.self, AddWitness.self, RequireWitnesses.self,
            Join.self, Sync.self,
        ]
    )

    /// `gatehouse network init --name NAME`.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a network: its root key and its card, in the authority's home.",
            discussion: """
                NAME is the log's origin and the key name of its checkpoints: a schema-less URL \
                such as directory.nhs.example/england, without spaces or '+'. The root key is \
                written to network/root.key (mode 0600); keep it offline with \
                `gatehouse network protect-root --out FILE`, then --root-key FILE.

                Examples:
                  gatehouse network init --name directory.nhs.example/england --home /srv/network
                """)

        @OptionGroup var homeOptions: HomeOptions
        @Option(help: ArgumentHelp("The network's name (the log's origin).", valueName: "name"))
        var name: String

        func run() throws {
            let card = try NetworkAuthority.initialise(home: homeOptions.resolved, name: name)
            print("Created the network \(card.network) in \(homeOptions.resolved.path)/network.")
            print("fingerprint:    \(card.fingerprint)")
            print("Send `gatehouse network export-card` to every gateway; they compare this fingerprint once.")
        }
    }

    /// `gatehouse network admit CARD [--yes]`.
    struct Admit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Admit an organisation's identity card into the directory (after checking it).",
            discussion: """
                Prints the card and asks whether its fingerprint matches what the organisation \
                read to you; the admission binds its ODS code to its name, root key, SSH key and \
                mailbox for --days days. It is published with the next `network publish`. A newer \
                card from the root already admitted (a key rotation) is admitted without asking; \
                an ODS code already admitted with another root key needs --replace.

                Examples:
                  gatehouse network admit A81001.card
                  gatehouse network admit A81001.card --yes --days 730
                """)

        @OptionGroup var homeOptions: HomeOptions
        @Argument(help: ArgumentHelp("The organisation's identity card file.", valueName: "card"))
        var cardFile: String
        @Flag(help: "The fingerprint has already been compared: do not ask.")
        var yes = false
        @Flag(help: "Admit a new root key for an ODS code already admitted with another one.")
        var replace = false
        @Option(help: ArgumentHelp("How long the admission holds, in days (default 365).", valueName: "days"))
        var days: UInt64 = 365

        func run() throws {
            let card = try CardInput.read(cardFile)
            let authority = NetworkAuthority(home: homeOptions.resolved)
            _ = try authority.card()
            let (_, _, state) = try authority.plannedState()
            if let listed = state.listings[card.org], listed.revocation == nil {
                if listed.card.rootKey == card.rootKey, listed.card == card {
                    print("\(card.org) is already admitted with this card (entry \(listed.index)); nothing changed.")
                    return
                }
                guard listed.card.rootKey == card.rootKey || replace else {
                    throw CommandFailure(
                        status: .partnerProblem,
                        message:
                            "\(card.org) is already admitted with another root key (fingerprint "
                                + "\(listed.card.fingerprint))",
                        hint: "after a phone call confirming the new fingerprint, run the command again with --replace")
                }
            }
            print("Identity card from \(cardFile):")
            print(CardSummary.lines(for: card))
            // A newer manifest signed by the root already admitted (a key rotation) needs no new
            // check, as for a pinned partner; a first admission or a new root does.
            if let listed = state.listings[card.org], listed.revocation == nil, listed.card.rootKey == card.rootKey {
                guard card.manifest.version > listed.card.manifest.version else {
                    throw CommandFailure(
                        status: .partnerProblem,
                        message:
                            "\(card.org)'s manifest version \(card.manifest.version) is not newer than the admitted "
                            + "version \(listed.card.manifest.version) (a rollback is refused)", hint: nil)
                }
                print(
                    "Signed by the root key already admitted for \(card.org): updating its keys (manifest version "
                        + "\(card.manifest.version))."
                )
            } else {
                try CardInput.confirmFingerprint(of: card.org, assumeYes: yes)
            }
            let now = KeyStore.now()
            let entry = try DirectoryEntry.admit(card, validFrom: now, validUntil: now + days * 86_400)
            try authority.stage(entry)
            print("Admitted \(card.org) (\(card.name)); run `gatehouse network publish` to publish it.")
        }
    }

    /// `gatehouse network revoke ODS --reason TEXT`.
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Withdraw an organisation's admission.",
            discussion: """
                Appends a revocation of the root key the directory lists for ODS. Gateways \
                refuse its bundles from the checkpoint that contains the revocation on.

                Examples:
                  gatehouse network revoke A81001 --reason "practice merged into A81002"
                """)

        @OptionGroup var homeOptions: HomeOptions
        @Argument(help: ArgumentHelp("The organisation's ODS code.", valueName: "ods"))
        var org: String
        @Option(help: ArgumentHelp("Why, for the log (1 to 200 characters).", valueName: "text"))
        var reason: String

        func run() throws {
            let code = try ODSCode(userInput: org)
            let authority = NetworkAuthority(home: homeOptions.resolved)
            let (_, _, state) = try authority.plannedState()
            guard let listed = state.listings[code], listed.revocation == nil else {
                throw CommandFailure(
                    status: .partnerProblem, message: "\(code) is not admitted (or already revoked)",
                    hint: "`gatehouse network show` lists the admitted organisations")
            }
            try authority.stage(
                try DirectoryEntry.revoke(org: code, rootKey: listed.card.rootKey, at: KeyStore.now(), reason: reason))
            print("Revoked \(code) (\(listed.card.name)); run `gatehouse network publish` to publish it.")
        }
    }

    /// `gatehouse network publish [--to DIR]…`.
    struct Publish: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append the admissions and revocations made since, and sign a new checkpoint.",
            discussion: """
                Writes the new tiles, then the signed checkpoint, into network/log and into each \
                --to folder (a relay's directory folder, which it serves read-only to every \
                registered organisation). Before the checkpoint, each witness named with \
                `network add-witness` is asked to cosign it (C2SP tlog-witness) and its cosigned \
                copy is written to witness/KEYID beside it. A witness that refuses or cannot be \
                reached does not stop the publication: the command says which, and exits with \
                status 11; publishing again (even with nothing new) asks again.

                Examples:
                  gatehouse network publish --to /srv/relay/directory
                  gatehouse network publish --root-key /media/usb/network-root.key --passphrase-file /run/pass
                """)

        @OptionGroup var homeOptions: HomeOptions
        @OptionGroup var root: RootKeyOptions
        @OptionGroup var mirror: MirrorOptions

        func run() throws {
            let authority = NetworkAuthority(home: homeOptions.resolved)
            let key = try authority.loadRootKey(from: root.file, passphrase: root.passphraseSource())
            let publication = try authority.publish(key: key, mirrors: mirror.folders, post: NetworkCommand.witnessPost)
            let body = try Checkpoint.parse(publication.checkpoint.text)
            print("Published \(publication.to - publication.from) new entries: the log holds \(publication.to).")
            print("root:           \(Base64.encode(body.root.bytes))")
            try NetworkCommand.report(publication.witnesses)
        }
    }

    /// `gatehouse network export-card [-o FILE]`.
    struct ExportCard: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-card",
            abstract: "Print the network's card, which every gateway pins once.",
            discussion: """
                Examples:
                  gatehouse network export-card -o england.network-card
                """)

        @OptionGroup var homeOptions: HomeOptions
        @Option(
            name: [.short, .customLong("output")],
            help: ArgumentHelp("Write the card to this new file.", valueName: "file"))
        var output: String?

        func run() throws {
            let card = try NetworkAuthority(home: homeOptions.resolved).card()
            if let output {
                try FileOperations.createExclusively(at: output, contents: Array(card.text.utf8), mode: 0o644)
                print("Wrote the card of \(card.network) to \(output); fingerprint \(card.fingerprint).")
            } else {
                print(card.text, terminator: "")
            }
        }
    }
}

/// `--to DIR`, for the commands that write the directory's log: the folders (a relay's
/// `directory/`, a copy to ship) that get the log too.
struct MirrorOptions: ParsableArguments {
    @Option(
        name: .customLong("to"),
        help: ArgumentHelp("Also write the log into this folder (repeatable).", valueName: "dir"))
    var folders: [String] = []
}
