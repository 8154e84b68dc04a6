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
        abstract: "Rotate, revoke and list the organisation's keys; protect the root key.",
        discussion: """
            The identity card carries a versioned key manifest signed by the root key: the current \
            signing and encryption keys, superseded keys still honoured during a grace window, \
            revoked keys, and an expiry. Rotating or revoking signs the next manifest; a running \
            `gatehouse run` sends it to every partner by itself, and partners accept it only from \
            the root they pinned and only with a higher version.

            The root key is needed only to change the card. Protect it with a passphrase \
            (Argon2id), or move it off the machine: commands that need it then take --root-key \
            FILE and ask for the passphrase.

            Examples:
              gatehouse keys status
              gatehouse keys rotate --grace 14d
              gatehouse keys revoke 4f1c2a9b0d3e5f67 --reason compromised
              gatehouse keys rotate --root --root-key /media/usb/A81001-root.key
              gatehouse keys protect-root --out /media/usb/A81001-root.key
            """,
        subcommands: [List.self, Status.self, Rotate.self, Revoke.self, ProtectRoot.self]
    )

    /// `gatehouse keys list [--json]`.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every key: role, algorithm, id, state, expiry, where its secret is.",
            discussion: """
                States: current; superseded (replaced, honoured until the end of its grace window); \
                revoked (with the time and reason). `until` is a current key's expiry, the end of a \
                superseded key's grace window, or a revoked key's revocation time.

                Examples:
                  gatehouse keys list
                  gatehouse keys list --json
                """)

        @OptionGroup var homeOptions: HomeOptions

        @Flag(help: "Print a JSON array of {role, algorithm, key_id, fingerprint, state, valid_from, until, reason, secret}.")
        var json = false

        func run() throws {
            let entries = try KeyListing.entries(KeyStore(home: homeOptions.initialised()))
            if json {
                print(try JSONOutput.encode(entries))
            } else {
                KeyListing.print(entries)
            }
        }
    }

    /// `gatehouse keys status [--json]`.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the key manifest, every key, partners' manifest versions and expiry warnings.",
            discussion: """
                Warnings appear 30 days and 7 days before the manifest or a current key expires, \
                when a partner's manifest is stale (expired or expiring within 30 days with no \
                newer one received), and when a partner has not confirmed a manifest that revokes \
                a key within [keys] revocation_confirm_within (default 1h). Each partner's line \
                shows the version of this organisation's manifest its gateway confirmed with a \
                signed receipt. The running gateway logs the same warnings.

                Examples:
                  gatehouse keys status
                  gatehouse keys status --json
                """)

        @OptionGroup var homeOptions: HomeOptions

        @Flag(help: "Print JSON: {org, manifest_version, created, expires, keys, partners, warnings}.")
        var json = false

        struct Partner: Encodable {
            let org: String, manifestVersion: UInt64, expires: String, stale: Bool
            /// The own manifest version this partner's gateway confirmed (0: none yet; versions start at 1).
            let ownManifestConfirmed: UInt64
            enum CodingKeys: String, CodingKey {
                case org, manifestVersion = "manifest_version", expires, stale, ownManifestConfirmed = "own_manifest_confirmed"
            }
        }
        struct Document: Encodable {
            let org: String, manifestVersion: UInt64, created: String, expires: String
            let keys: [KeyListing.Entry], partners: [Partner], warnings: [String]
            enum CodingKeys: String, CodingKey {
                case org, manifestVersion = "manifest_version", created, expires, keys, partners, warnings
            }
        }

        func run() throws {
            let home = try homeOptions.initialised()
            let store = KeyStore(home: home)
            let card = try store.loadOwnCard()
            let partners = try PartnerStore(home: home).list()
            let now = KeyStore.now()
            let ledger = ManifestLedger(home: home)
            let config = try GatehouseConfig.load(home: home)
            let others = partners.map(\.org).filter { $0 != card.org }
            let warnings = (KeyWarnings.warnings(own: card, partners: partners, now: now)
                + KeyWarnings.unconfirmedRevocations(own: card, partners: others, ledger: ledger,
                                                     within: config.revocationConfirmWithin, now: now)).map(\.message)
            let document = Document(
                org: card.org.value, manifestVersion: card.manifest.version, created: card.createdText, expires: card.expiresText,
                keys: try KeyListing.entries(store),
                partners: partners.map { Partner(org: $0.org.value, manifestVersion: $0.manifest.version, expires: $0.expiresText,
                                                 stale: KeyWarnings.isStale($0, now: now),
                                                 ownManifestConfirmed: ledger.delivery(to: $0.org).confirmed ?? 0) },
                warnings: warnings)
            if json { return print(try JSONOutput.encode(document)) }
            print("\(card.org): key manifest version \(card.manifest.version), signed \(card.createdText), expires \(card.expiresText)")
            print("")
            KeyListing.print(document.keys)
            if !partners.isEmpty {
                print("")
                for partner in document.partners {
                    let confirmed = partner.ownManifestConfirmed > 0 ? "confirmed our version \(partner.ownManifestConfirmed)" : "has confirmed none of our versions"
                    print("partner \(partner.org.padding(toLength: 10, withPad: " ", startingAt: 0)) manifest version \(partner.manifestVersion), expires \(partner.expires)\(partner.stale ? "  STALE" : ""); \(confirmed)")
                }
            }
            print("")
            print(warnings.isEmpty ? "No warnings." : warnings.map { "WARNING: \($0)" }.joined(separator: "\n"))
        }
    }

    /// `gatehouse keys rotate [--grace 14d] [--root]`.
    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make new signing and encryption keys (and with --root, a new root) and sign the next manifest.",
            discussion: """
                The old signing key stops signing at once; partners still accept what it signed \
                before the rotation until the grace window ends. The old encryption key keeps \
                decrypting bundles sealed to it until the grace window ends; the running gateway \
                then destroys it. A running `gatehouse run` sends the new manifest to every \
                partner by itself, before the first bundle signed with the new key.

                With --root, a new root key is made too and endorsed by the old one, so partners \
                trust it without a new phone call; it replaces the old root where that was kept \
                (keys/root.key or --root-key FILE), protected by the same passphrase, unless \
                --new-root-key FILE names another place. Share the new fingerprint with partners \
                all the same.

                Examples:
                  gatehouse keys rotate --grace 14d
                  gatehouse keys rotate --root-key /media/usb/A81001-root.key --passphrase-file /run/passphrase
                  gatehouse keys rotate --root
                """)

        @OptionGroup var homeOptions: HomeOptions
        @OptionGroup var root: RootKeyOptions

        @Option(help: ArgumentHelp("How long the old keys stay honoured: 30s, 12h, 14d …", valueName: "duration"))
        var grace = "14d"

        @Option(name: .customLong("valid-for"), help: ArgumentHelp("How long the new keys and manifest are valid: 90d, 365d …", valueName: "duration"))
        var validFor = "365d"

        @Flag(name: .customLong("root"), help: "Rotate the root key too (endorsed by the old one).")
        var rotateRoot = false

        @Option(name: .customLong("new-root-key"), help: ArgumentHelp("With --root: write the new root key to this new file.", valueName: "file"))
        var newRootKey: String?

        func validate() throws {
            guard GatehouseConfig.parseDuration(grace) != nil else {
                throw ValidationError("--grace: expected a duration like 30s, 12h or 14d, got \(grace.debugDescription)")
            }
            guard let lifetime = GatehouseConfig.parseDuration(validFor), lifetime >= .seconds(3600) else {
                throw ValidationError("--valid-for: expected a duration of at least 1h, like 90d or 365d, got \(validFor.debugDescription)")
            }
            if newRootKey != nil && !rotateRoot { throw ValidationError("--new-root-key needs --root") }
        }

        func run() throws {
            let home = try homeOptions.initialised()
            let graceSeconds = UInt64(GatehouseConfig.parseDuration(grace)!.components.seconds)
            let change = try KeyStore(home: home).rotate(grace: graceSeconds, rotateRoot: rotateRoot, rootKey: root.file,
                                                         passphrase: root.passphraseSource(), newRootPath: newRootKey,
                                                         lifetime: UInt64(GatehouseConfig.parseDuration(validFor)!.components.seconds))
            let card = change.card
            let graceEnd = RFC3339.format(KeyStore.now() + graceSeconds) ?? "?"
            CommandAudit.record(AuditEvent("keys-rotated", org: card.org.value,
                                           detail: "manifest \(change.old.manifest.version) -> \(card.manifest.version); signing \(change.old.signingKeyID) -> \(card.signingKeyID); encryption \(change.old.encryptionKeyID) -> \(card.encryptionKeyID); grace until \(graceEnd)"),
                                home: home)
            if rotateRoot {
                CommandAudit.record(AuditEvent("root-rotated", org: card.org.value, detail: "root \(change.old.fingerprint) -> \(card.fingerprint)"), home: home)
            }
            for id in change.destroyed {
                let role = change.old.manifest.record(for: id)?.key.role ?? "key"
                CommandAudit.record(AuditEvent("key-destroyed", org: card.org.value, detail: "\(role) \(id)"), home: home)
            }
            print("Key manifest version \(card.manifest.version) for \(card.org):")
            print("  signing key:    \(change.old.signingKeyID) -> \(card.signingKeyID)")
            print("  encryption key: \(change.old.encryptionKeyID) -> \(card.encryptionKeyID) (the old one decrypts until \(graceEnd))")
            if let path = change.newRootPath {
                print("  root key:       new, endorsed by the old one, written to \(path)")
                print("  fingerprint:    \(card.fingerprint)")
            }
            print("  valid until:    \(card.expiresText)")
            print("A running `gatehouse run` sends the new manifest to every partner; `gatehouse keys status` shows the keys.")
        }
    }

    /// `gatehouse keys revoke KEYID --reason compromised|superseded [--at TIME]`.
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key: its signatures from the revocation time on are refused everywhere.",
            discussion: """
                A current key is replaced by a new one at once, with no grace window; its secret is \
                destroyed. Partners refuse signatures by the key dated at or after the revocation \
                time (reason revoked-key) and still accept, with the verdict recorded, what it \
                signed before. With --at, date the revocation back to when a compromise began.

                Examples:
                  gatehouse keys revoke 4f1c2a9b0d3e5f67 --reason compromised --at 2027-02-20T00:00:00Z
                  gatehouse keys revoke 4f1c2a9b0d3e5f67 --reason compromised --at 3h
                  gatehouse keys revoke 4f1c2a9b0d3e5f67 --reason superseded --root-key /media/usb/root.key
                """)

        @OptionGroup var homeOptions: HomeOptions
        @OptionGroup var root: RootKeyOptions

        @Argument(help: ArgumentHelp("The key id (16 hex digits; `gatehouse keys list`).", valueName: "key-id"))
        var keyID: String

        @Option(help: ArgumentHelp("compromised or superseded.", valueName: "reason"))
        var reason: String

        @Option(help: ArgumentHelp("Revoke as of this earlier time: \(PointInTime.expected).", valueName: "time"),
                transform: TimeArgument.parse)
        var at: UInt64?

        func validate() throws {
            guard RevocationReason(rawValue: reason) != nil else { throw ValidationError("--reason must be compromised or superseded") }
            guard (try? KeyID(hex: keyID.lowercased())) != nil else { throw ValidationError("\(keyID.debugDescription) is not a key id (16 hex digits)") }
        }

        func run() throws {
            let home = try homeOptions.initialised()
            let id = try KeyID(hex: keyID.lowercased())
            let change = try KeyStore(home: home).revoke(id, reason: RevocationReason(rawValue: reason)!, at: at,
                                                         rootKey: root.file, passphrase: root.passphraseSource())
            let card = change.card
            CommandAudit.record(AuditEvent("key-revoked", org: card.org.value,
                                           detail: "\(id) \(reason) at \(RFC3339.format(at ?? card.created) ?? "?"); manifest \(card.manifest.version); new keys \(change.created.map(\.hex).joined(separator: " "))"),
                                home: home)
            for destroyed in change.destroyed {
                let role = change.old.manifest.record(for: destroyed)?.key.role ?? "key"
                CommandAudit.record(AuditEvent("key-destroyed", org: card.org.value, detail: "\(role) \(destroyed)"), home: home)
            }
            print("Revoked \(id) (\(reason)) in key manifest version \(card.manifest.version) of \(card.org).")
            for created in change.created { print("New current key: \(created)") }
            print("A running `gatehouse run` sends the new manifest to every partner.")
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

                Examples:
                  gatehouse keys protect-root
                  gatehouse keys protect-root --out /media/usb/A81001-root.key
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
            guard line.count >= minimumLength else { throw Self.tooShort(minimumLength, in: file) }
            return SecretBytes(copying: line)
        }
        guard isatty(0) != 0 else {
            throw CommandFailure(status: .usage, message: "no terminal to ask for the passphrase on",
                                 hint: "pass --passphrase-file FILE (the passphrase is its first line)")
        }
        let first = try Self.ask("Passphrase: ")
        guard first.count >= minimumLength else { throw Self.tooShort(minimumLength, in: nil) }
        if confirm {
            let second = try Self.ask("Passphrase again: ")
            guard first.isEqual(to: second) else {
                throw CommandFailure(status: .usage, message: "the two passphrases differ; nothing was changed",
                                     hint: "run the command again and type the same passphrase twice")
            }
        }
        return first
    }

    /// A passphrase shorter than `minimum`: a usage error (exit 64).
    private static func tooShort(_ minimum: Int, in file: String?) -> CommandFailure {
        CommandFailure(status: .usage,
                       message: "the passphrase\(file.map { " in \($0)" } ?? "") is shorter than \(minimum) characters",
                       hint: minimum > 1 ? "choose at least \(minimum) characters, such as four unrelated words"
                                         : "the passphrase is the first line of the file; it must not be empty")
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

/// `--root-key FILE` and `--passphrase-file FILE`: where the root key is, when a command needs it.
struct RootKeyOptions: ParsableArguments {
    @Option(name: .customLong("root-key"), help: ArgumentHelp("The root key file, when it is not in keys/ (kept offline).", valueName: "file"))
    var file: String?

    @OptionGroup var passphrase: PassphraseOptions

    /// Asks for the passphrase at most once, however often the key store needs it.
    func passphraseSource() -> KeyStore.PassphraseSource {
        let cache = PassphraseCache()
        let passphrase = self.passphrase
        return { () throws(KitError) in
            do {
                return try cache.get { try passphrase.read() }
            } catch let failure as CommandFailure where failure.status == .usage {
                throw KitError.passphraseUnavailable(failure.message)
            } catch { throw KitError.invalidInput("\(error)") }
        }
    }
}

/// Holds a passphrase read once, for the length of one command.
final class PassphraseCache: @unchecked Sendable {
    private var bytes: [UInt8]?

    func get(_ read: () throws -> SecretBytes) throws -> SecretBytes {
        if let bytes { return SecretBytes(copying: bytes) }
        let secret = try read()
        bytes = secret.withUnsafeBytes { Array($0) }
        return secret
    }

    deinit {
        if var bytes { for i in bytes.indices { bytes[i] = 0 } }
    }
}

/// The rows of `gatehouse keys list` and `keys status`.
enum KeyListing {
    struct Entry: Encodable {
        let role: String, algorithm: String, keyID: String, fingerprint: String?, state: String
        let validFrom: String?, until: String?, reason: String?, secret: String
        enum CodingKeys: String, CodingKey {
            case role, algorithm, keyID = "key_id", fingerprint, state, validFrom = "valid_from", until, reason, secret
        }
    }

    static func entries(_ store: KeyStore) throws -> [Entry] {
        let card = try store.loadOwnCard()
        func where_(_ path: String) -> String { FileManager.default.fileExists(atPath: path) ? path : "not on this machine" }
        let root = switch try store.rootKeyState() {
        case .plain: store.rootKeyPath
        case .protected: "passphrase-protected (\(store.rootKeyPath))"
        case .absent: "not on this machine"
        }
        var entries = [Entry(role: "root", algorithm: "ed25519", keyID: KeyID(signing: card.rootKey).hex, fingerprint: card.fingerprint,
                             state: "current", validFrom: nil, until: nil, reason: nil, secret: root)]
        for record in card.manifest.keys {
            var reason: String?
            if case .revoked(_, let why) = record.state { reason = why.rawValue }
            entries.append(Entry(role: record.key.role, algorithm: record.key.algorithm, keyID: record.id.hex, fingerprint: nil,
                                 state: record.stateName, validFrom: RFC3339.format(record.from), until: RFC3339.format(record.usableUntil),
                                 reason: reason, secret: store.hasSecret(for: record) ? store.secretPath(for: record) : "destroyed or not on this machine"))
        }
        for old in card.manifest.rootHistory {
            entries.append(Entry(role: "root", algorithm: "ed25519", keyID: KeyID(signing: old.root).hex, fingerprint: Fingerprint.of(old.root),
                                 state: "superseded", validFrom: nil, until: nil, reason: nil, secret: "not kept"))
        }
        if let ssh = card.sshKey {
            entries.append(Entry(role: "ssh", algorithm: "ed25519", keyID: KeyID(signing: ssh).hex, fingerprint: OpenSSHKey.fingerprint(ssh),
                                 state: "current", validFrom: nil, until: nil, reason: nil, secret: where_(store.sshKeyPath(id: KeyID(signing: ssh)))))
        }
        return entries
    }

    static func print(_ entries: [Entry]) {
        for e in entries {
            let until = e.until.map { "  until \($0)" } ?? ""
            let reason = e.reason.map { " (\($0))" } ?? ""
            Swift.print("\(e.role.padding(toLength: 11, withPad: " ", startingAt: 0)) \(e.algorithm) \(e.keyID)  \(e.state)\(reason)\(until)  \(e.secret)\(e.fingerprint.map { "  \($0)" } ?? "")")
        }
    }
}
