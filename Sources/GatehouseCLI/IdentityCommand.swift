import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseKit

/// `gatehouse identity …`: this organisation's own identity card.
struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Show or export this organisation's identity card.",
        discussion: """
            Examples:
              gatehouse identity show
              gatehouse identity export -o A81001.card
              gatehouse identity set-mailbox "sftp://gatehouse@relay.example.org:2222 ssh-ed25519 AAAA…"
            """,
        subcommands: [Export.self, Show.self, SetMailbox.self]
    )

    /// `gatehouse identity export [-o FILE]`.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the identity card, to send to partners.",
            discussion: """
                The card is public: it holds only public keys, signed by the root key. -o writes a \
                new file (a temporary file beside it, then renamed), so its folder must be \
                writable by the user running the command; a FIFO or /dev/stdout is written \
                straight. Run as the service user from a folder it cannot write, print to \
                standard output and let your shell write the file.

                Examples:
                  gatehouse identity export -o A81001.card
                  sudo -u gatehouse gatehouse identity export --home /var/lib/gatehouse > A81001.card
                """
        )

        @OptionGroup var homeOptions: HomeOptions

        @Option(name: [.short, .customLong("output")], help: ArgumentHelp(
            "Write the card to this new file instead of standard output (never overwrites).", valueName: "file"))
        var output: String?

        func run() throws {
            let card = try KeyStore(home: homeOptions.resolved).loadOwnCard()
            guard let output else {
                print(card.text, terminator: "")
                return
            }
            let created = try NewOutputFile.write(Array(card.text.utf8), to: output)
            let note = "Wrote the identity card of \(card.org) to \(output)\nfingerprint: \(card.fingerprint)\n"
            // On standard error when the card went to a FIFO or /dev/stdout, which may be standard output.
            if created { print(note, terminator: "") } else { FileHandle.standardError.write(Data(note.utf8)) }
        }
    }

    /// `gatehouse identity show`.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the organisation, key ids and root fingerprint.",
            discussion: """
                Also checks that every key file is present, private (mode 0600) and matches the card.

                Examples:
                  gatehouse identity show
                  gatehouse identity show --home /var/lib/gatehouse
                """
        )

        @OptionGroup var homeOptions: HomeOptions

        func run() throws {
            let home = homeOptions.resolved
            let store = KeyStore(home: home)
            let card = try store.loadOwnCard()
            try store.verifyKeys()
            print(CardSummary.lines(for: card) + "\nidentity card:  \(home.ownCardPath)")
        }
    }
}

extension IdentityCommand {
    /// `gatehouse identity set-mailbox ADDRESS`.
    struct SetMailbox: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-mailbox",
            abstract: "Change the mailbox address on the identity card (re-signed by the root key).",
            discussion: """
                The card is signed again as the next key-manifest version. A running `gatehouse run` \
                sends it to every partner, whose gateways accept it without a new fingerprint check \
                because the root they pinned signed it.

                Examples:
                  gatehouse identity set-mailbox "$(gatehouse relay address --home /srv/relay)"
                  gatehouse identity set-mailbox "sftp://gatehouse@relay.example.org:2222 ssh-ed25519 AAAA…"
                  gatehouse identity set-mailbox dir:/srv/gatehouse/mailboxes
                """
        )

        @OptionGroup var homeOptions: HomeOptions

        @Argument(help: ArgumentHelp("The new address: sftp://USER@HOST:PORT and the relay's host key (one quoted argument), or dir:/path.", valueName: "address"))
        var address: String

        @OptionGroup var root: RootKeyOptions

        func run() throws {
            let card = try KeyStore(home: try homeOptions.initialised()).setMailbox(try MailboxAddress(address), rootKey: root.file,
                                                                                   passphrase: root.passphraseSource())
            CommandAudit.record(AuditEvent("card-updated", org: card.org.value, detail: "mailbox changed; manifest \(card.manifest.version)"), home: try homeOptions.initialised())
            print("The identity card of \(card.org) (manifest version \(card.manifest.version)) now names mailbox \(card.mailbox ?? "none").")
            print("A running `gatehouse run` sends it to every partner; a partner without a gateway yet needs `gatehouse identity export`.")
        }
    }
}

/// The human-readable summary of a card, shared by `identity show` and `partners add`.
enum CardSummary {
    /// Organisation, name, key ids, creation time and fingerprint, one per line.
    static func lines(for card: IdentityCard) -> String {
        """
        organisation:   \(card.org)
        name:           \(card.name)
        signing key:    ed25519 \(card.signingKeyID)
        encryption key: x25519 \(card.encryptionKeyID)
        manifest:       version \(card.manifest.version), signed \(card.createdText), expires \(card.expiresText)
        ssh key:        \(card.sshKey.map { "ed25519 \(OpenSSHKey.fingerprint($0))" } ?? "none")
        mailbox:        \(card.mailbox ?? "none")
        fingerprint:    \(card.fingerprint)
        """
    }
}
