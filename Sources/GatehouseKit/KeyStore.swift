import Foundation
import Glibc
public import GatehouseCrypto
public import GatehouseFormat

/// The organisation's own keys under `HOME/keys/` (FORMAT.md §6): the root key, the current
/// signing and encryption keys, and the public identity card that names the current ones.
///
/// Secret key files are created exclusively with mode 0600 and never overwritten; loading
/// refuses files that group or others can access and checks each key id against its key.
public struct KeyStore: Sendable {
    /// The home folder whose keys these are.
    public let home: GatehouseHome

    /// The key store of `home`.
    public init(home: GatehouseHome) { self.home = home }

    /// `keys/root.key`.
    public var rootKeyPath: String { home.keysPath + "/root.key" }
    /// `keys/signing-KEYID.key`.
    public func signingKeyPath(id: KeyID) -> String { home.keysPath + "/signing-\(id.hex).key" }
    /// `keys/encryption-KEYID.key`.
    public func encryptionKeyPath(id: KeyID) -> String { home.keysPath + "/encryption-\(id.hex).key" }

    /// True once `init` has completed (the own identity card exists).
    /// The organisation's SSH key for logging in to mailbox relays, an OpenSSH private key file.
    public func sshKeyPath(id: KeyID) -> String { home.keysPath + "/ssh-\(id.hex).key" }

    public var isInitialised: Bool { FileManager.default.fileExists(atPath: home.ownCardPath) }

    /// Creates the organisation's identity: a root key, a signing key, an encryption key and an
    /// SSH key (for mailbox relays), each in its own new 0600 file, and the identity card signed
    /// by the root key.
    ///
    /// Refuses (`alreadyInitialised`) when any key file or the card already exists: keys are
    /// never overwritten. The card is written last, so a home is initialised only when complete.
    @discardableResult
    public func initialise(org: ODSCode, name: String, mailbox: MailboxAddress? = nil, created: UInt64 = KeyStore.now()) throws(KitError) -> IdentityCard {
        do { try IdentityCard.validateName(name) } catch { throw .invalidInput(error.detail) }
        try FileOperations.makeDirectory(home.path, mode: 0o700)
        // Only the owner may even list the secret key files.
        try FileOperations.makeDirectory(home.keysPath, mode: 0o700)
        try FileOperations.makeDirectory(home.partnersPath, mode: 0o755)
        if let existing = existingKeyFile() {
            throw .alreadyInitialised("\(home.path) already has keys (\(existing)); existing keys are never overwritten", path: existing)
        }
        let root = SigningSecretKey.generate()
        let signing = SigningSecretKey.generate()
        let encryption = AgreementSecretKey.generate()
        let ssh = SigningSecretKey.generate()
        let card: IdentityCard
        do {
            card = try IdentityCard.make(org: org, name: name, root: root, signingKey: signing.publicKey,
                                         encryptionKey: encryption.publicKey, created: created,
                                         sshKey: ssh.publicKey, mailbox: mailbox?.description)
        } catch {
            throw .invalidInput(error.detail)
        }
        try writeSecret(SecretKeyFile.encode(signing: root, role: .root), to: rootKeyPath)
        try writeSecret(SecretKeyFile.encode(signing: signing, role: .signing), to: signingKeyPath(id: card.signingKeyID))
        try writeSecret(SecretKeyFile.encode(encryption: encryption), to: encryptionKeyPath(id: card.encryptionKeyID))
        try writeSecret(OpenSSHKey.privateKeyFile(ssh, comment: "gatehouse \(org.value)"), to: sshKeyPath(id: KeyID(signing: ssh.publicKey)))
        do {
            try FileOperations.createExclusively(at: home.ownCardPath, contents: Array(card.text.utf8), mode: 0o644)
        } catch where error.category == .fileExists {
            throw .alreadyInitialised("\(home.ownCardPath) already exists", path: home.ownCardPath)
        }
        return card
    }

    /// Re-signs the own card with a new mailbox address (or none) as the next manifest version,
    /// and replaces `keys/identity.card` atomically. Partners accept the newer card signed by the
    /// root they pinned without asking again.
    @discardableResult
    public func setMailbox(_ mailbox: MailboxAddress?, now fixedNow: UInt64? = nil, rootKey: String? = nil,
                           passphrase: (() throws(KitError) -> SecretBytes)? = nil) throws(KitError) -> IdentityCard {
        _ = try loadOwnCard()
        let root = try loadRootKey(from: rootKey, passphrase: passphrase)
        // Locked once the passphrase has been typed; the card is read again under the lock.
        let lock = try HomeLock.keyChange(home)
        defer { lock.release() }
        let now = fixedNow ?? KeyStore.now()  // under the lock (see rotate)
        let old = try loadOwnCard()
        // The next manifest version, so partners see an update, never a rollback; same keys and expiry.
        let card = try sign(old, keys: old.manifest.keys, rootHistory: old.manifest.rootHistory, now: now,
                            lifetime: Self.keptLifetime(of: old, now: now), root: root,
                            mailbox: .some(mailbox?.description))
        try FileOperations.replaceAtomically(at: home.ownCardPath, contents: Array(card.text.utf8), mode: 0o644)
        return card
    }

    /// The organisation's own identity card, parsed and verified. Also refuses to go on when any
    /// secret key file is open to group or others (`unsafePermissions`).
    public func loadOwnCard() throws(KitError) -> IdentityCard {
        try SecretKeyReader.checkPermissions(ofKeysIn: home.keysPath, names: keyFileNames())
        let path = home.ownCardPath
        guard let bytes = try FileOperations.read(at: path, limit: IdentityCard.maxTextLength) else {
            throw .notInitialised("\(home.path) has no Gatehouse identity (no \(path))", path: path)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .keyFileInvalid("\(path) is not UTF-8 text", path: path)
        }
        do { return try ParsedCards.parse(text) } catch { throw .keyFileInvalid("\(path): \(error.detail)", path: path) }
    }

    /// The root key, which signs identity cards: from `keys/root.key`, or from `file` when the
    /// root is kept offline. A passphrase-protected file (FORMAT.md §6) asks `passphrase`.
    /// Finishes an interrupted `keys rotate --root` (the new root still under `FILE.new`).
    public func loadRootKey(from file: String? = nil, passphrase: (() throws(KitError) -> SecretBytes)? = nil) throws(KitError) -> SigningSecretKey {
        let card = try loadOwnCard()
        let path = file ?? rootKeyPath
        let staged = path + ".new"
        let state = try Self.rootKeyState(at: path)
        let stagedState = try Self.rootKeyState(at: staged)
        if state != .absent {
            let key = try Self.readRootKey(at: path, state: state, passphrase: passphrase)
            if key.publicKey == card.rootKey { return key }
            guard stagedState != .absent else {
                throw .keyFileInvalid("\(path) holds another root key than the one on \(card.org)'s identity card", path: path)
            }
        } else if stagedState == .absent {
            // Not damage: a root key kept offline is absent by design (`keys protect-root --out`).
            throw .rootKeyUnavailable(
                file == nil ? "the root key is not on this machine (no \(path))" : "\(path) does not exist", path: path)
        }
        // A root rotation stopped after the card was written: the new root waits under .new.
        let key = try Self.readRootKey(at: staged, state: stagedState, passphrase: passphrase)
        guard key.publicKey == card.rootKey else {
            throw .keyFileInvalid("neither \(path) nor \(staged) holds the root key on \(card.org)'s identity card", path: path)
        }
        guard rename(staged, path) == 0 else { throw FileOperations.ioError("could not move the new root key into place at", path) }
        try FileOperations.syncDirectory(of: path)
        return key
    }

    static func readRootKey(at path: String, state: RootKeyState, passphrase: (() throws(KitError) -> SecretBytes)?) throws(KitError) -> SigningSecretKey {
        if state == .protected {
            guard let passphrase else {
                throw .passphraseUnavailable("\(path) is protected by a passphrase and none was given", path: path)
            }
            let secret = try passphrase()
            var refused = false
            let opened: SigningSecretKey?
            do throws(KitError) {
                opened = try SecretKeyReader.read(at: path, { (bytes) throws(FormatError) -> SigningSecretKey in
                    do throws(FormatError) {
                        return try ProtectedKeyFile.decodeSigningKey(Array(bytes), role: .root, passphrase: secret)
                    } catch {
                        refused = error.category == .authenticationFailed
                        throw error
                    }
                })
            } catch {
                // The shape was checked before Argon2id ran: what failed is the passphrase (or a
                // change inside the sealed part, which no passphrase can tell apart).
                if refused {
                    throw .wrongPassphrase("wrong passphrase for \(path) (or the file was changed)", path: path)
                }
                throw error
            }
            guard let opened else { throw .keyFileInvalid("\(path) vanished", path: path) }
            return opened
        }
        guard let plain = try SecretKeyReader.read(at: path, { (bytes) throws(FormatError) in
            try SecretKeyFile.decodeSigningKey(bytes, role: .root)
        }) else { throw .keyFileInvalid("\(path) vanished", path: path) }
        return plain
    }

    /// Whether a root key file is here, and how it is kept.
    public enum RootKeyState: Sendable, Equatable { case plain, protected, absent }

    /// The state of the root key file at `path` (`keys/root.key` by default). Only the file's
    /// first words are looked at, through the same checks as any key read (no links, mode 0600),
    /// and no secret leaves wiped storage.
    public func rootKeyState(at path: String? = nil) throws(KitError) -> RootKeyState { try Self.rootKeyState(at: path ?? rootKeyPath) }

    static func rootKeyState(at path: String) throws(KitError) -> RootKeyState {
        let isProtected = try SecretKeyReader.read(at: path) { (bytes) throws(FormatError) in
            ProtectedKeyFile.isProtected(Array(bytes.prefix(ProtectedKeyFile.magic.utf8.count + 1)))
        }
        return isProtected.map { $0 ? .protected : .plain } ?? .absent
    }

    /// Replaces the root key file with one protected by `passphrase`, or, with `offline`, writes
    /// the protected file there (new, 0600) and removes `keys/root.key` once the new file has
    /// been read back.
    public func protectRootKey(passphrase: borrowing SecretBytes, offline: String? = nil,
                               cost: PassphraseSeal.Cost = .interactive) throws(KitError) -> String {
        try Self.protect(try loadRootKey(), at: rootKeyPath, passphrase: passphrase, offline: offline, cost: cost)
    }

    /// Seals `root`, kept at `rootKeyPath`, under `passphrase`: in place, or moved to `offline`
    /// (a network authority's root key goes through here too).
    static func protect(_ root: borrowing SigningSecretKey, at rootKeyPath: String, passphrase: borrowing SecretBytes,
                        offline: String?, cost: PassphraseSeal.Cost) throws(KitError) -> String {
        let contents: [UInt8]
        do { contents = try ProtectedKeyFile.encode(signing: root, role: .root, passphrase: passphrase, cost: cost) } catch {
            throw .invalidInput(error.detail)
        }
        let target = offline ?? rootKeyPath
        if offline != nil {
            try FileOperations.createExclusively(at: target, contents: contents, mode: 0o600)
        } else {
            try FileOperations.replaceAtomically(at: target, contents: contents, mode: 0o600)
        }
        // Read back before anything is removed: a file that cannot be opened must never be the only copy.
        let check: SigningSecretKey? = try SecretKeyReader.read(at: target) { (bytes) throws(FormatError) in
            try ProtectedKeyFile.decodeSigningKey(Array(bytes), role: .root, passphrase: passphrase)
        }
        guard let check, check.publicKey == root.publicKey else { throw .io("\(target) could not be read back", path: target) }
        if offline != nil {
            guard unlink(rootKeyPath) == 0 else { throw FileOperations.ioError("could not remove", rootKeyPath) }
            try FileOperations.syncDirectory(of: rootKeyPath)
        }
        return target
    }

    /// The current signing key, the one the identity card names.
    public func loadSigningKey() throws(KitError) -> SigningSecretKey {
        let card = try loadOwnCard()
        let path = signingKeyPath(id: card.signingKeyID)
        guard let key = try SecretKeyReader.read(at: path, { (bytes) throws(FormatError) in
            try SecretKeyFile.decodeSigningKey(bytes, role: .signing)
        }) else { throw .keyFileInvalid("\(path) is missing: the identity card names a signing key that is not here", path: path) }
        guard key.publicKey == card.signingKey else {
            throw .keyFileInvalid("\(path) does not hold the signing key of the identity card", path: path)
        }
        return key
    }

    /// The encryption key with id `id`, or nil when this organisation has no such key
    /// (the bundle was then not addressed to it, or to a key already retired).
    public func loadEncryptionKey(id: KeyID) throws(KitError) -> AgreementSecretKey? {
        guard isInitialised else {
            throw .notInitialised("\(home.path) has no Gatehouse identity (no \(home.ownCardPath))", path: home.ownCardPath)
        }
        return try SecretKeyReader.read(at: encryptionKeyPath(id: id)) { (bytes) throws(FormatError) in
            try SecretKeyFile.decodeEncryptionKey(bytes)
        }
    }

    /// Loads every key the identity card names, and the root key, checking modes and key ids:
    /// a health check for `gatehouse identity show`.
    public func verifyKeys() throws(KitError) {
        let card = try loadOwnCard()
        // A root key kept offline or behind a passphrase is checked when it is used.
        if try Self.rootKeyState(at: rootKeyPath) == .plain { _ = try loadRootKey() }
        _ = try loadSigningKey()
        guard try loadEncryptionKey(id: card.encryptionKeyID) != nil else {
            let path = encryptionKeyPath(id: card.encryptionKeyID)
            throw .keyFileInvalid("\(path) is missing: the identity card names an encryption key that is not here", path: path)
        }
    }

    /// The path of the SSH key the identity card names, after checking that it is there and
    /// open to nobody else (`ssh` refuses such keys too, with a less helpful message).
    public func sshKeyFile() throws(KitError) -> String {
        let card = try loadOwnCard()
        guard let key = card.sshKey else {
            throw .keyFileInvalid("\(home.ownCardPath) names no SSH key: this identity was made before Gatehouse used SSH relays; make a new one with `gatehouse init`", path: home.ownCardPath)
        }
        let path = sshKeyPath(id: KeyID(signing: key))
        guard FileManager.default.fileExists(atPath: path) else {
            throw .keyFileInvalid("\(path) is missing: the identity card names an SSH key that is not here", path: path)
        }
        return path
    }

    /// Seconds since 1970, now.
    public static func now() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970)) }

    func writeSecret(_ line: consuming SecretBytes, to path: String) throws(KitError) {
        do {
            try line.withUnsafeBytes { (bytes) throws(KitError) in
                try FileOperations.createExclusively(at: path, contents: bytes, mode: 0o600)
            }
        } catch where error.category == .fileExists {
            throw .alreadyInitialised("\(path) already exists; existing keys are never overwritten", path: path)
        }
    }

    private func keyFileNames() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: home.keysPath)) ?? []
    }

    private func existingKeyFile() -> String? {
        if FileManager.default.fileExists(atPath: home.ownCardPath) { return home.ownCardPath }
        return keyFileNames().sorted().first { $0.hasByteSuffix(".key") }.map { home.keysPath + "/" + $0 }
    }
}
