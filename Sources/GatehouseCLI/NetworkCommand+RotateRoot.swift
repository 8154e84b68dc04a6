import ArgumentParser
import GatehouseFormat
import GatehouseKit

extension NetworkCommand {
    /// `gatehouse network rotate-root [--to DIR]… [--root-key FILE]`.
    struct RotateRoot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-root",
            abstract: "Replace the network's root key; gateways that follow the log take the new one by themselves.",
            discussion: """
                Publishes what is pending in a checkpoint that names the new key, signed by the old \
                key and the new one (docs/DIRECTORY.md §4.1), into network/log and each --to \
                folder; the new key becomes network/root.key and `export-card` prints the new \
                card for gateways that join later. Keep the old key until every gateway has synced \
                once more; then destroy it.

                Examples:
                  gatehouse network rotate-root --to /srv/relay/directory
                  gatehouse network rotate-root --root-key /media/usb/network-root.key --passphrase-file /run/pass
                """)

        @OptionGroup var homeOptions: HomeOptions
        @OptionGroup var root: RootKeyOptions
        @OptionGroup var mirror: MirrorOptions

        func run() throws {
            let authority = NetworkAuthority(home: homeOptions.resolved)
            let old = try authority.card()
            let key = try authority.loadRootKey(from: root.file, passphrase: root.passphraseSource())
            let (card, witnesses) = try authority.rotateRoot(
                oldKey: key, mirrors: mirror.folders, post: NetworkCommand.witnessPost)
            print(
                "The network \(card.network) has a new root key, vouched for by the old one in the published "
                    + "checkpoint."
            )
            print("old fingerprint: \(old.fingerprint)")
            print("new fingerprint: \(card.fingerprint)")
            print(
                "The new key is in \(authority.rootKeyPath); protect it (`network protect-root`). Keep the old key "
                    + "until every "
                    + "gateway has synced, then destroy it.")
            try NetworkCommand.report(witnesses)
        }
    }
}
