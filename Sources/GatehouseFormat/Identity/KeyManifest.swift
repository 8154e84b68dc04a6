public import GatehouseCrypto

/// A public key named in a key manifest: a signing key (Ed25519) or an encryption key (X25519).
public enum ManifestKey: Sendable, Hashable {
    case signing(SigningPublicKey)
    case encryption(AgreementPublicKey)

    /// The key id (FORMAT.md §2).
    public var id: KeyID {
        switch self {
        case .signing(let key): KeyID(signing: key)
        case .encryption(let key): KeyID(agreement: key)
        }
    }

    /// `ed25519` or `x25519`, as written on the card.
    public var algorithm: String {
        switch self {
        case .signing: "ed25519"
        case .encryption: "x25519"
        }
    }

    /// `signing` or `encryption`, for people.
    public var role: String {
        switch self {
        case .signing: "signing"
        case .encryption: "encryption"
        }
    }

    /// The raw 32 public-key bytes.
    public var bytes: [UInt8] {
        switch self {
        case .signing(let key): key.bytes
        case .encryption(let key): key.bytes
        }
    }
}

/// Why a key was revoked (FORMAT.md §5.1).
public enum RevocationReason: String, Sendable, Hashable, CaseIterable {
    /// The secret key may be known to someone else.
    case compromised
    /// The key was replaced and must not be used any more, with no grace window.
    case superseded
}

/// One key of a manifest and its state.
public struct ManifestKeyRecord: Sendable, Hashable {
    /// Where a key is in its life.
    public enum State: Sendable, Hashable {
        /// In use: signatures and new bundles use it until `until` (its expiry).
        case current(until: UInt64)
        /// Replaced at `at` by a newer key, and still honoured until `until` (the grace window):
        /// a superseded signing key's signatures made before `at`, a superseded encryption key
        /// for decrypting bundles sealed to it.
        case superseded(at: UInt64, until: UInt64)
        /// Revoked at `at`: signatures made at or after `at` are refused; its secret is destroyed.
        case revoked(at: UInt64, reason: RevocationReason)
    }

    /// The public key.
    public let key: ManifestKey
    /// When the key became valid, in seconds since 1970.
    public let from: UInt64
    /// Its state.
    public let state: State

    /// Makes a record.
    public init(key: ManifestKey, from: UInt64, state: State) {
        self.key = key
        self.from = from
        self.state = state
    }

    /// The key id.
    public var id: KeyID { key.id }

    /// A short word for the state: `current`, `superseded` or `revoked`.
    public var stateName: String {
        switch state {
        case .current: "current"
        case .superseded: "superseded"
        case .revoked: "revoked"
        }
    }

    /// The last moment the key is of any use: its expiry, the end of its grace window, or its
    /// revocation time.
    public var usableUntil: UInt64 {
        switch state {
        case .current(let until): until
        case .superseded(_, let until): until
        case .revoked(let at, _): at
        }
    }
}

/// A root key's endorsement of the root that replaced it: the old root signs the new one
/// (FORMAT.md §5.2), so partners who pinned the old root can trust the new one without a call.
public struct RootEndorsement: Sendable, Hashable {
    /// The old root key.
    public let root: SigningPublicKey
    /// Its signature over the next root (the next endorsement's root, or the card's root key).
    public let signature: [UInt8]

    /// Makes an endorsement; use ``endorse(org:next:with:)`` to sign one.
    public init(root: SigningPublicKey, signature: [UInt8]) {
        self.root = root
        self.signature = signature
    }

    /// The old root `key` signs `next` as `org`'s new root.
    public static func endorse(org: ODSCode, next: SigningPublicKey, with key: borrowing SigningSecretKey) -> RootEndorsement {
        RootEndorsement(root: key.publicKey,
                        signature: SignatureContext.rootRotation.sign(digest(org: org, old: key.publicKey, next: next), with: key))
    }

    /// Whether this endorsement's root signed `next` as `org`'s new root.
    public func endorses(_ next: SigningPublicKey, org: ODSCode) -> Bool {
        SignatureContext.rootRotation.verify(signature, over: Self.digest(org: org, old: root, next: next), by: root)
    }

    /// SHA-256 of the text the old root signs (FORMAT.md §5.2).
    static func digest(org: ODSCode, old: SigningPublicKey, next: SigningPublicKey) -> SHA256Digest {
        let text = "org: \(org.value)\nold-root: ed25519 \(Base64.encode(old.bytes))\nnew-root: ed25519 \(Base64.encode(next.bytes))\n"
        return SHA256Hasher.hash(Array(text.utf8))
    }
}

/// An organisation's versioned key manifest (FORMAT.md §5.1), carried and signed by its identity
/// card: which keys are current, which were superseded or revoked and when, and when the whole
/// manifest expires. Partners accept a manifest only with a higher version than the one they hold.
public struct KeyManifest: Sendable, Hashable {
    /// Longest list of past keys or root endorsements a card may carry.
    public static let maxHistory = 64
    /// Default lifetime of a manifest and of new keys: one year.
    public static let defaultLifetime: UInt64 = 365 * 86_400
    /// How far a signature's own time may be ahead of a key's window (clocks differ).
    public static let clockSkew: UInt64 = 300

    /// The manifest version, from 1; every new manifest has a higher one.
    public let version: UInt64
    /// When the root signed it, in seconds since 1970.
    public let created: UInt64
    /// After this time partners warn that the manifest is stale; a card past it cannot be imported.
    public let expires: UInt64
    /// Every key: exactly one current signing key and one current encryption key, then the past ones.
    public let keys: [ManifestKeyRecord]
    /// The roots this organisation used before its current one, oldest first, each endorsing the next.
    public let rootHistory: [RootEndorsement]

    /// Makes a manifest; the card checks the rules when it is made or parsed.
    public init(version: UInt64, created: UInt64, expires: UInt64, keys: [ManifestKeyRecord], rootHistory: [RootEndorsement] = []) {
        self.version = version
        self.created = created
        self.expires = expires
        self.keys = keys
        self.rootHistory = rootHistory
    }

    /// The first manifest of a new identity: version 1, both keys valid for `lifetime`.
    public static func first(signingKey: SigningPublicKey, encryptionKey: AgreementPublicKey, created: UInt64,
                             lifetime: UInt64 = defaultLifetime) -> KeyManifest {
        let until = created + lifetime
        return KeyManifest(version: 1, created: created, expires: until, keys: [
            ManifestKeyRecord(key: .signing(signingKey), from: created, state: .current(until: until)),
            ManifestKeyRecord(key: .encryption(encryptionKey), from: created, state: .current(until: until)),
        ])
    }

    /// The current record of the signing key.
    /// (Every manifest on a card has one: `make` and `parse` check it.)
    public var currentSigning: ManifestKeyRecord { currentSigningIfAny! }
    /// The current record of the encryption key.
    public var currentEncryption: ManifestKeyRecord { currentEncryptionIfAny! }
    /// The keys that are not current, in card order.
    public var pastKeys: [ManifestKeyRecord] { keys.filter { if case .current = $0.state { false } else { true } } }

    /// Every signing key the manifest names (current, superseded and revoked), by id: what
    /// checks evidence the organisation signed in the past, such as its audit checkpoints.
    public var signingKeys: [KeyID: SigningPublicKey] {
        var keys: [KeyID: SigningPublicKey] = [:]
        for record in self.keys { if case .signing(let key) = record.key { keys[record.id] = key } }
        return keys
    }

    /// The record of the key with id `id`, if the manifest names it.
    public func record(for id: KeyID) -> ManifestKeyRecord? { keys.first { $0.id == id } }

    /// Checks the rules of FORMAT.md §5.1 that span fields; `place` prefixes each error.
    func validate(org: ODSCode, root: SigningPublicKey, place: String) throws(FormatError) {
        guard version >= 1 else { throw .malformed("\(place)manifest: the version must be at least 1") }
        guard created <= expires else { throw .malformed("\(place)expires: the manifest expires before it was made") }
        guard expires <= RFC3339.maxSeconds else { throw .malformed("\(place)expires: after the year 9999") }
        var seen = Set<KeyID>()
        var currentSigning = 0, currentEncryption = 0
        for record in keys {
            guard seen.insert(record.id).inserted else {
                throw .malformed("\(place)key \(record.id) is named twice")
            }
            switch record.state {
            case .current(let until):
                guard record.from <= until else { throw .malformed("\(place)key \(record.id): valid until before valid from") }
                if case .signing = record.key { currentSigning += 1 } else { currentEncryption += 1 }
            case .superseded(let at, let until):
                guard record.from <= at, at <= until else {
                    throw .malformed("\(place)superseded key \(record.id): its times must be in order (from, superseded at, until)")
                }
            case .revoked(let at, _):
                guard record.from <= at else { throw .malformed("\(place)revoked key \(record.id): revoked before it was valid") }
            }
        }
        guard currentSigning == 1, currentEncryption == 1 else {
            throw .malformed("\(place)a manifest names exactly one current signing key and one current encryption key")
        }
        guard pastKeys.count <= Self.maxHistory, rootHistory.count <= Self.maxHistory else {
            throw .malformed("\(place)more than \(Self.maxHistory) past keys or root endorsements")
        }
        // Each old root endorses the next one; the last endorses the card's root.
        var roots = Set<[UInt8]>([root.bytes])
        for (index, endorsement) in rootHistory.enumerated() {
            guard roots.insert(endorsement.root.bytes).inserted else { throw .malformed("\(place)root-history: a root appears twice") }
            let next = index + 1 < rootHistory.count ? rootHistory[index + 1].root : root
            guard endorsement.endorses(next, org: org) else {
                throw .authenticationFailed("\(place)root-history: entry \(index + 1)'s signature over the next root does not verify")
            }
        }
    }
}

/// What checking a signer's key against a manifest found: the key to verify with, and a note
/// for the record when the signature is accepted only because of when it was made.
public struct SignerKey: Sendable {
    /// The public key.
    public let key: SigningPublicKey
    /// Set when the key is revoked but the signature predates the revocation.
    public let note: String?
}

extension IdentityCard {
    /// The signing key with id `id`, if signatures by it dated `signedAt` are acceptable at
    /// `now` (FORMAT.md §5.1):
    /// - the current key, unless the signature is dated after the key's expiry (`expired`);
    /// - a superseded key, for signatures made before it was superseded and only until its grace
    ///   window ends (`expired`, or `revoked-key` for a signature made after it was replaced);
    /// - a revoked key, only for signatures made before its revocation (`revoked-key`), with a note;
    /// - any other key: `unknown-key` (a newer manifest may be on its way).
    ///
    /// For evidence kept from earlier (a stored receipt), pass `now: signedAt`: the question is
    /// then only whether the key was good when it signed.
    public func signer(_ id: KeyID, signedAt: UInt64, now: UInt64) throws(FormatError) -> SignerKey {
        guard let record = manifest.record(for: id), case .signing(let key) = record.key else {
            throw .unknownKey("\(org) has no signing key \(id) in its key manifest held here (version \(manifest.version)); if \(org) rotated its keys, its new manifest is on its way")
        }
        let signed = RFC3339.format(signedAt) ?? String(signedAt)
        switch record.state {
        case .current(let until):
            guard signedAt <= until + KeyManifest.clockSkew else {
                throw .expired("\(org)'s signing key \(id) expired at \(RFC3339.format(until) ?? "?"), before this signature (\(signed))")
            }
            return SignerKey(key: key, note: nil)
        case .superseded(let at, let until):
            guard signedAt <= at + KeyManifest.clockSkew else {
                throw .revokedKey("signed by \(org)'s key \(id) at \(signed), after that key was replaced at \(RFC3339.format(at) ?? "?")")
            }
            guard now <= until else {
                throw .expired("signed by \(org)'s superseded key \(id), whose grace window ended at \(RFC3339.format(until) ?? "?")")
            }
            return SignerKey(key: key, note: nil)
        case .revoked(let at, let reason):
            guard signedAt < at else {
                throw .revokedKey("signed by \(org)'s key \(id) at \(signed), after its revocation at \(RFC3339.format(at) ?? "?") (\(reason.rawValue))")
            }
            return SignerKey(key: key, note: "signed at \(signed) by \(org)'s key \(id), before its revocation at \(RFC3339.format(at) ?? "?") (\(reason.rawValue))")
        }
    }
}

extension KeyManifest {
    var currentSigningIfAny: ManifestKeyRecord? { keys.first { if case .signing = $0.key, case .current = $0.state { true } else { false } } }
    var currentEncryptionIfAny: ManifestKeyRecord? { keys.first { if case .encryption = $0.key, case .current = $0.state { true } else { false } } }
}
