import Foundation
import Glibc
public import GatehouseCrypto
public import GatehouseFormat

/// What a rotation or revocation did, for the command's report and the audit log.
public struct ManifestChange: Sendable {
    /// The card as it was.
    public let old: IdentityCard
    /// The new card, already in `keys/identity.card`.
    public let card: IdentityCard
    /// Keys created by the change.
    public let created: [KeyID]
    /// Keys whose secrets were destroyed at once (superseded signing keys, revoked keys).
    public let destroyed: [KeyID]
    /// Where the new root key was written, when the root was rotated.
    public let newRootPath: String?
}

extension KeyStore {
    /// Asks for the root key file's passphrase when it is needed.
    public typealias PassphraseSource = () throws(KitError) -> SecretBytes

    /// Rotates the operational keys (and with `root`, the root key too), FORMAT.md §5.1:
    /// new signing and encryption keys become current; the old ones are superseded at `now` and
    /// honoured for `grace` seconds (signatures made before `now`; decryption of bundles sealed
    /// to the old encryption key). The new manifest has the next version and is signed by the
    /// root; a new root is endorsed by the old one (`root-history`) and written where the old
    /// root was kept (protected by the same passphrase when it was), or to `newRootPath`.
    ///
    /// Crash-safe order: new secret files first (exclusive, 0600), then the card atomically,
    /// then the old signing secret is destroyed (it never signs again).
    public func rotate(grace: UInt64, now fixedNow: UInt64? = nil, rotateRoot: Bool = false,
                       rootKey: String? = nil, passphrase: PassphraseSource? = nil, newRootPath: String? = nil,
                       lifetime: UInt64 = KeyManifest.defaultLifetime) throws(KitError) -> ManifestChange {
        _ = try loadOwnCard()
        if let newRootPath, FileManager.default.fileExists(atPath: newRootPath) {
            throw .fileExists("\(newRootPath) already exists; a new root key is never written over a file", path: newRootPath)
        }
        let root = try loadRootKey(from: rootKey, passphrase: passphrase)
        // Locked only once the passphrase has been typed: a running daemon must not wait on a
        // person. The card is read again under the lock.
        let lock = try HomeLock.keyChange(home)
        defer { lock.release() }
        // The time is read once the lock is held: a rotation that waited behind another must not
        // supersede keys made after the moment it was started.
        let now = fixedNow ?? KeyStore.now()
        let old = try loadOwnCard()
        let signing = SigningSecretKey.generate()
        let encryption = AgreementSecretKey.generate()
        let until = now + lifetime
        var keys = [
            ManifestKeyRecord(key: .signing(signing.publicKey), from: now, state: .current(until: until)),
            ManifestKeyRecord(key: .encryption(encryption.publicKey), from: now, state: .current(until: until)),
        ]
        for record in old.manifest.keys {
            if case .current = record.state {
                keys.append(ManifestKeyRecord(key: record.key, from: record.from, state: .superseded(at: now, until: now + grace)))
            } else {
                keys.append(record)
            }
        }
        try writeSecret(SecretKeyFile.encode(signing: signing, role: .signing), to: signingKeyPath(id: KeyID(signing: signing.publicKey)))
        try writeSecret(SecretKeyFile.encode(encryption: encryption), to: encryptionKeyPath(id: KeyID(agreement: encryption.publicKey)))
        var created = [KeyID(signing: signing.publicKey), KeyID(agreement: encryption.publicKey)]

        let card: IdentityCard
        var rootPath: String?
        if rotateRoot {
            let newRoot = SigningSecretKey.generate()
            let history = old.manifest.rootHistory + [RootEndorsement.endorse(org: old.org, next: newRoot.publicKey, with: root)]
            card = try sign(old, keys: keys, rootHistory: history, now: now, lifetime: lifetime, root: newRoot)
            // The new root waits under FILE.new until the card names it (loadRootKey finishes
            // the move after a crash), so no moment exists without a root matching the card.
            let oldPath = rootKey ?? rootKeyPath
            let finalPath = newRootPath ?? oldPath
            let staged = finalPath + ".new"
            unlink(staged)  // left by a rotation that stopped before its card was written: never used
            try storeNewRoot(newRoot, at: staged, protectedLike: oldPath, passphrase: passphrase)
            try FileOperations.replaceAtomically(at: home.ownCardPath, contents: Array(card.text.utf8), mode: 0o644)
            guard rename(staged, finalPath) == 0 else { throw FileOperations.ioError("could not move the new root key into place at", finalPath) }
            try FileOperations.syncDirectory(of: finalPath)
            if finalPath != oldPath { _ = try destroyFile(oldPath) }  // the old root never signs again
            rootPath = finalPath
            created.append(KeyID(signing: newRoot.publicKey))
        } else {
            card = try sign(old, keys: keys, rootHistory: old.manifest.rootHistory, now: now, lifetime: lifetime, root: root)
            try FileOperations.replaceAtomically(at: home.ownCardPath, contents: Array(card.text.utf8), mode: 0o644)
        }
        var destroyed: [KeyID] = []
        if try destroySecret(of: old.manifest.currentSigning) { destroyed.append(old.signingKeyID) }
        // Older keys whose windows have closed go too, in case no gateway ran to destroy them.
        destroyed += try destroyRetiredSecrets(now: now).filter { !destroyed.contains($0) }
        return ManifestChange(old: old, card: card, created: created, destroyed: destroyed, newRootPath: rootPath)
    }

    /// Revokes key `id` at `at` (now by default; earlier when a compromise is known to have
    /// started before) with `reason`, in a new manifest signed by the root. A current key is
    /// replaced by a new one of the same role at once, with no grace window. The revoked key's
    /// secret is destroyed once the new card is written.
    public func revoke(_ id: KeyID, reason: RevocationReason, at: UInt64? = nil, now fixedNow: UInt64? = nil,
                       rootKey: String? = nil, passphrase: PassphraseSource? = nil) throws(KitError) -> ManifestChange {
        var now = fixedNow ?? KeyStore.now()
        var revokedAt = at ?? now
        func target(in card: IdentityCard) throws(KitError) -> ManifestKeyRecord {
            guard let target = card.manifest.record(for: id) else {
                throw .invalidInput("\(card.org)'s key manifest has no key \(id); `gatehouse keys list` shows the keys")
            }
            if case .revoked = target.state { throw .invalidInput("key \(id) is already revoked") }
            guard revokedAt <= now else { throw .invalidInput("a revocation time cannot be in the future") }
            guard revokedAt >= target.from else {
                throw .invalidInput("key \(id) became valid at \(RFC3339.format(target.from) ?? "?"); revoke it at that time or later")
            }
            return target
        }
        // Checked before the passphrase is asked for, and again under the lock, which is taken
        // only once the passphrase has been typed (a running daemon must not wait on a person).
        _ = try target(in: try loadOwnCard())
        let root = try loadRootKey(from: rootKey, passphrase: passphrase)
        let lock = try HomeLock.keyChange(home)
        defer { lock.release() }
        // The time again under the lock (see rotate).
        now = fixedNow ?? KeyStore.now()
        revokedAt = at ?? now
        let old = try loadOwnCard()
        let target = try target(in: old)
        var keys: [ManifestKeyRecord] = []
        var created: [KeyID] = []
        for record in old.manifest.keys {
            guard record.id == id else { keys.append(record); continue }
            // A revoked key's signatures before `at` stay valid; a superseded key's were valid only
            // before it was replaced, so revoking it must not move that line later.
            var effective = revokedAt
            if case .superseded(let replaced, _) = record.state { effective = min(revokedAt, replaced) }
            keys.append(ManifestKeyRecord(key: record.key, from: record.from, state: .revoked(at: effective, reason: reason)))
            guard case .current(let until) = record.state else { continue }
            // A current key is replaced at once, valid as long as the one it replaces was.
            let lifetime = max(until, now + 86_400) - now
            switch record.key {
            case .signing:
                let replacement = SigningSecretKey.generate()
                try writeSecret(SecretKeyFile.encode(signing: replacement, role: .signing), to: signingKeyPath(id: KeyID(signing: replacement.publicKey)))
                keys.append(ManifestKeyRecord(key: .signing(replacement.publicKey), from: now, state: .current(until: now + lifetime)))
                created.append(KeyID(signing: replacement.publicKey))
            case .encryption:
                let replacement = AgreementSecretKey.generate()
                try writeSecret(SecretKeyFile.encode(encryption: replacement), to: encryptionKeyPath(id: KeyID(agreement: replacement.publicKey)))
                keys.append(ManifestKeyRecord(key: .encryption(replacement.publicKey), from: now, state: .current(until: now + lifetime)))
                created.append(KeyID(agreement: replacement.publicKey))
            }
        }
        let card = try sign(old, keys: keys, rootHistory: old.manifest.rootHistory, now: now,
                            lifetime: Self.keptLifetime(of: old, now: now), root: root)
        try FileOperations.replaceAtomically(at: home.ownCardPath, contents: Array(card.text.utf8), mode: 0o644)
        let destroyed = try destroySecret(of: target) ? [id] : []
        return ManifestChange(old: old, card: card, created: created, destroyed: destroyed, newRootPath: nil)
    }

    /// Destroys the secrets the manifest no longer needs at `now`: encryption keys whose grace
    /// window has ended, and any superseded or revoked key still on disk. Returns their ids.
    /// The daemon calls this as it runs, so an old key goes as soon as its window closes.
    @discardableResult
    public func destroyRetiredSecrets(now: UInt64 = KeyStore.now()) throws(KitError) -> [KeyID] {
        let card = try loadOwnCard()
        var destroyed: [KeyID] = []
        for record in card.manifest.keys {
            switch record.state {
            case .current: continue
            case .superseded(_, let until):
                // A superseded signing key never signs again; an encryption key decrypts until `until`.
                if case .encryption = record.key, now <= until { continue }
            case .revoked: break
            }
            if try destroySecret(of: record) { destroyed.append(record.id) }
        }
        return destroyed
    }

    /// Whether the secret of `record`'s key is on disk.
    public func hasSecret(for record: ManifestKeyRecord) -> Bool {
        FileManager.default.fileExists(atPath: secretPath(for: record))
    }

    /// `keys/signing-ID.key` or `keys/encryption-ID.key`.
    public func secretPath(for record: ManifestKeyRecord) -> String {
        switch record.key {
        case .signing: signingKeyPath(id: record.id)
        case .encryption: encryptionKeyPath(id: record.id)
        }
    }

    /// The lifetime that keeps `old`'s expiry for a re-signed manifest (a revocation, a new
    /// mailbox), but never less than a day from now: a revocation must reach partners even when
    /// the manifest had expired (the expiry warnings then ask for a rotation).
    static func keptLifetime(of old: IdentityCard, now: UInt64) -> UInt64 {
        let created = max(now, old.created)
        return max(old.expires, created + 86_400) - created
    }

    /// Signs the next manifest after `old`'s with `root`.
    func sign(_ old: IdentityCard, keys: [ManifestKeyRecord], rootHistory: [RootEndorsement], now: UInt64,
              lifetime: UInt64, root: borrowing SigningSecretKey, mailbox: String?? = .none) throws(KitError) -> IdentityCard {
        // Past keys beyond the limit go, those whose windows ended longest ago first.
        var kept = keys
        let past = kept.filter { if case .current = $0.state { false } else { true } }
        if past.count > KeyManifest.maxHistory {
            let drop = Set(past.sorted { $0.usableUntil < $1.usableUntil }.prefix(past.count - KeyManifest.maxHistory).map(\.id))
            kept.removeAll { drop.contains($0.id) }
        }
        let created = max(now, old.created)
        let manifest = KeyManifest(version: old.manifest.version + 1, created: created, expires: created + lifetime,
                                   keys: kept, rootHistory: rootHistory)
        do {
            return try IdentityCard.make(org: old.org, name: old.name, root: root, manifest: manifest,
                                         sshKey: old.sshKey, mailbox: mailbox ?? old.mailbox)
        } catch {
            throw .invalidInput(error.detail)
        }
    }

    /// Writes a new root key to the new file `path`, protected like the old root at `oldPath`.
    private func storeNewRoot(_ root: borrowing SigningSecretKey, at path: String, protectedLike oldPath: String,
                              passphrase: PassphraseSource?) throws(KitError) {
        if try Self.rootKeyState(at: oldPath) == .protected, let passphrase {
            let secret = try passphrase()
            let contents: [UInt8]
            do { contents = try ProtectedKeyFile.encode(signing: root, role: .root, passphrase: secret) } catch {
                throw .invalidInput(error.detail)
            }
            try FileOperations.createExclusively(at: path, contents: contents, mode: 0o600)
        } else {
            try SecretKeyFile.encode(signing: root, role: .root).withUnsafeBytes { (bytes) throws(KitError) in
                try FileOperations.createExclusively(at: path, contents: bytes, mode: 0o600)
            }
        }
    }

    /// Overwrites and removes the secret file of `record`'s key; false when it was not there.
    func destroySecret(of record: ManifestKeyRecord) throws(KitError) -> Bool {
        try destroyFile(secretPath(for: record))
    }

    /// Overwrites and removes the secret file at `path`; false when it was not there.
    func destroyFile(_ path: String) throws(KitError) -> Bool {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw FileOperations.ioError("could not open for destruction", path)
        }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > 0 {
            let zeros = [UInt8](repeating: 0, count: Int(info.st_size))
            _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            _ = fsync(fd)
        }
        close(fd)
        guard unlink(path) == 0 || errno == ENOENT else { throw FileOperations.ioError("could not remove", path) }
        try FileOperations.syncDirectory(of: path)
        return true
    }
}
