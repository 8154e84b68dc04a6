import ArgumentParser
import GatehouseFormat
import GatehouseKit

/// `gatehouse init --org ODS --name NAME`: creates the organisation's keys and identity card.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create this organisation's keys and identity card.",
        discussion: """
            Creates a root key, a signing key, an encryption key and an SSH key (for mailbox relays) \
            under HOME/keys/ (each file \
            mode 0600, never overwritten) and the public identity card HOME/keys/identity.card. \
            Refuses if any key already exists. Also writes a commented default gatehouse.toml.

            Example:
              gatehouse init --org A81001 --name "Riverside Medical Practice" --mailbox "sftp://gatehouse@relay.example.org:2222 ssh-ed25519 AAAA…"
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(help: ArgumentHelp("The organisation's ODS code, e.g. A81001.", valueName: "ods"), transform: ODSCode.fromArgument)
    var org: ODSCode

    @Option(help: ArgumentHelp("The organisation's name, as partners will see it.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Where this organisation collects its mail (put on the card): a relay's address as `gatehouse relay address` prints it, or dir:/path.", valueName: "address"))
    var mailbox: String?

    func validate() throws {
        if let mailbox { do { _ = try MailboxAddress(mailbox) } catch { throw ValidationError(error.message) } }
    }

    func run() throws {
        let home = homeOptions.resolved
        let card = try KeyStore(home: home).initialise(org: org, name: name, mailbox: try mailbox.map { try MailboxAddress($0) })
        CommandAudit.record(AuditEvent("keys-created", org: card.org.value,
                                       detail: "root \(card.fingerprint); signing \(card.signingKeyID); encryption \(card.encryptionKeyID)"), home: home)
        // The commented default configuration, unless one is already there.
        if (try? FileOperations.read(at: home.configPath, limit: 1 << 20)) == nil {
            try FileOperations.createExclusively(at: home.configPath, contents: Array(GatehouseConfig.defaultText.utf8), mode: 0o644)
        }
        print("""
            Initialised \(card.org) (\(card.name)) in \(home.path)
              signing key:      ed25519 \(card.signingKeyID)
              encryption key:   x25519 \(card.encryptionKeyID)
              root fingerprint: \(card.fingerprint)
              mailbox:          \(card.mailbox ?? "none (set one with `gatehouse identity set-mailbox`)")
              identity card:    \(home.ownCardPath)
              configuration:    \(home.configPath)
            Send the card to each partner (`gatehouse identity export -o FILE`) and read them the
            fingerprint over the phone.
            """)
    }
}
