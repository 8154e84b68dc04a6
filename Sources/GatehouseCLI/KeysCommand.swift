import ArgumentParser
import Foundation
import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit

/// `gatehouse keys …`: the organisation's own keys.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List the organisation's keys and protect the root key.",
        discussion: """
            The root key signs the identity card and is needed only to change it. Protect it with \
            a passphrase (Argon2id), or move it off the machine: commands that need it then take \
            --root-key FILE and ask for the passphrase.

            Examples:
              gatehouse keys list
              gatehouse keys protect-root --out /media/usb/A81001-root.key
              gatehouse identity set-mailbox --root-key /media/usb/A81001-root.key "sftp://…"
            """,
        subcommands: [List.self, ProtectRoot.self]
    )

    /// `gatehouse keys list [--json]`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every key: role, algorithm, id, where its secret is.")

        @OptionGroup var homeOptions: HomeOptions

        @Flag(help: "Print a JSON array of {role, algorithm, key_id, fingerprint, state, secret}.")
        var json = false

        struct Entry: Encodable {
            let role: String, algorithm: String, keyID: String, fingerprint: String?, state: String, secret: String
            enum CodingKeys: String, CodingKey { case role, algorithm, keyID = "key_id", fingerprint, state, secret }
        }

        func run() throws {
            let home = try homeOptions.initialised()
            let store = KeyStore(home: home)
            let card = try store.loadOwnCard()
            func where_(_ path: String) -> String { FileManager.default.fileExists(atPath: path) ? path : "not on this machine" }
            let root = switch try store.rootKeyState() {
            case .plain: store.rootKeyPath
            case .protected: "passphrase-protected (\(store.rootKeyPath))"
            case .absent: "not on this machine"
            }
            var entries = [
                Entry(role: "root", algorithm: "ed25519", keyID: KeyID(signing: card.rootKey).hex, fingerprint: card.fingerprint,
                      state: "current", secret: root),
                Entry(role: "signing", algorithm: "ed25519", keyID: card.signingKeyID.hex, fingerprint: nil, state: "current",
                      secret: where_(store.signingKeyPath(id: card.signingKeyID))),
                Entry(role: "encryption", algorithm: "x25519", keyID: card.encryptionKeyID.hex, fingerprint: nil, state: "current",
                      secret: where_(store.encryptionKeyPath(id: card.encryptionKeyID))),
            ]
            if let ssh = card.sshKey {
                entries.append(Entry(role: "ssh", algorithm: "ed25519", keyID: KeyID(signing: ssh).hex, fingerprint: OpenSSHKey.fingerprint(ssh),
                                     state: "current", secret: where_(store.sshKeyPath(id: KeyID(signing: ssh)))))
            }
            if json {
                print(try JSONOutput.encode(entries))
            } else {
                for e in entries {
                    print("\(e.role.padding(toLength: 11, withPad: " ", startingAt: 0)) \(e.algorithm) \(e.keyID)  \(e.state)  \(e.secret)\(e.fingerprint.map { "  \($0)" } ?? "")")
                }
            }
        }
    }

    /// `gatehouse keys protect-root [--out FILE]`.
    struct ProtectRoot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "protect-root",
            abstract: "Seal the root key under a passphrase; with --out, move it off this machine.",
            discussion: """
                Without --out, keys/root.key is replaced by a passphrase-protected file. With --out \
                FILE, the protected key is written to FILE (which must not exist), read back, and \
                only then removed from keys/. The passphrase (at least 12 characters) is read from \
                --passphrase-file or, twice, from the terminal.
                """
        )

        @OptionGroup var homeOptions: HomeOptions
        @OptionGroup var passphrase: PassphraseOptions

        @Option(help: ArgumentHelp("Write the protected root key here and remove it from keys/.", valueName: "file"))
        var out: String?

        func run() throws {
            let home = try homeOptions.initialised()
            let secret = try passphrase.read(confirm: true, minimumLength: 12)
            let written = try KeyStore(home: home).protectRootKey(passphrase: secret, offline: out)
            CommandAudit.record(AuditEvent("root-key-protected", detail: out == nil ? "in place" : "moved off the home folder"), home: home)
            print(out == nil ? "The root key in \(written) is now passphrase-protected."
                             : "The root key is now only in \(written) (passphrase-protected); keys/root.key was removed. Keep the file offline and backed up.")
        }
    }
}

/// `--passphrase-file FILE`, else the terminal (echo off).
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: ArgumentHelp("Read the passphrase from the first line of this file.", valueName: "file"))
    var file: String?

    /// The passphrase; `confirm` asks twice on a terminal.
    func read(confirm: Bool = false, minimumLength: Int = 1) throws -> SecretBytes {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure.unreadableInput("cannot read the passphrase file \(file)") }
            let line = Array(data.prefix { $0 != 0x0A && $0 != 0x0D })
            guard line.count >= minimumLength else { throw ValidationError("the passphrase must be at least \(minimumLength) characters") }
            return SecretBytes(copying: line)
        }
        guard isatty(0) != 0 else { throw ValidationError("no terminal to ask for the passphrase on: pass --passphrase-file FILE") }
        let first = try Self.ask("Passphrase: ")
        guard first.count >= minimumLength else { throw ValidationError("the passphrase must be at least \(minimumLength) characters") }
        if confirm {
            let second = try Self.ask("Passphrase again: ")
            guard first.isEqual(to: second) else { throw ValidationError("the two passphrases differ") }
        }
        return first
    }

    private static func ask(_ prompt: String) throws -> SecretBytes {
        FileHandle.standardError.write(Data(prompt.utf8))
        var old = termios()
        tcgetattr(0, &old)
        var quiet = old
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSANOW, &quiet)
        defer { tcsetattr(0, TCSANOW, &old); FileHandle.standardError.write(Data("\n".utf8)) }
        var bytes = SecretBytes(zeroedCount: 1024)
        var count = 0
        bytes.withUnsafeMutableBytes { buffer in
            while count < buffer.count {
                var c: UInt8 = 0
                guard Glibc.read(0, &c, 1) == 1, c != 0x0A else { break }
                buffer[count] = c
                count += 1
            }
        }
        return bytes.withUnsafeBytes { SecretBytes(copying: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
}
