import ArgumentParser
import GatehouseFormat
import GatehouseKit

/// `gatehouse init --org ODS --name NAME`: creates the organisation's keys and identity card.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create this organisation's keys and identity card.",
        discussion: """
            Creates a root key, a signing key and an encryption key under HOME/keys/ (each file \
            mode 0600, never overwritten) and the public identity card HOME/keys/identity.card. \
            Refuses if any key already exists.
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(help: ArgumentHelp("The organisation's ODS code, e.g. A81001.", valueName: "ods"), transform: ODSCode.fromArgument)
    var org: ODSCode

    @Option(help: ArgumentHelp("The organisation's name, as partners will see it.", valueName: "name"))
    var name: String

    func run() throws {
        let home = homeOptions.resolved
        let card = try KeyStore(home: home).initialise(org: org, name: name)
        print("""
            Initialised \(card.org) (\(card.name)) in \(home.path)
              signing key:      ed25519 \(card.signingKeyID)
              encryption key:   x25519 \(card.encryptionKeyID)
              root fingerprint: \(card.fingerprint)
              identity card:    \(home.ownCardPath)
            Send the card to each partner (`gatehouse identity export -o FILE`) and read them the
            fingerprint over the phone.
            """)
    }
}
