import ArgumentParser
import GatehouseKit

extension NetworkCommand {
    /// `gatehouse network protect-root [--out FILE]`.
    struct ProtectRoot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "protect-root",
            abstract: "Seal the network's root key under a passphrase; with --out, move it off this machine.",
            discussion: """
                As `gatehouse keys protect-root`, for network/root.key. `network publish` then \
                needs --root-key FILE (when moved) and the passphrase.

                Examples:
                  gatehouse network protect-root --out /media/usb/network-root.key
                  gatehouse network publish --root-key /media/usb/network-root.key --passphrase-file /run/pass
                """)

        @OptionGroup var homeOptions: HomeOptions
        @OptionGroup var passphrase: PassphraseOptions
        @Option(help: ArgumentHelp("Write the protected root key here and remove it from network/.", valueName: "file"))
        var out: String?

        func run() throws {
            let authority = NetworkAuthority(home: homeOptions.resolved)
            _ = try authority.card()
            let secret = try passphrase.read(confirm: true, minimumLength: 12)
            let written = try authority.protectRootKey(passphrase: secret, offline: out)
            print(
                out == nil
                    ? "The network's root key in \(written) is now passphrase-protected."
                    : "The network's root key is now only in \(written) (passphrase-protected). Keep it offline and "
                        + "backed up."
            )
        }
    }
}
