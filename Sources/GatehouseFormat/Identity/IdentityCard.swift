public import GatehouseCrypto

/// An organisation's public identity (FORMAT.md §5): its root key, which partners pin after
/// comparing the fingerprint by phone, and its versioned key manifest (current, superseded and
/// revoked keys), all signed by the root key.
///
/// Values of this type are always valid: they come from ``make(org:name:root:manifest:sshKey:mailbox:)``
/// or from ``parse(_:)``, which verifies the root signature and the manifest's rules.
public struct IdentityCard: Sendable, Hashable {
    /// The only card version this code reads and writes.
    public static let currentVersion = 1
    /// The armour line that opens a card.
    public static let beginLine = "-----BEGIN GATEHOUSE IDENTITY CARD-----"
    /// The armour line that closes a card.
    public static let endLine = "-----END GATEHOUSE IDENTITY CARD-----"
    /// Longest card text a reader accepts, covering email included (FORMAT.md §5), so parsing
    /// is bounded whatever a partner sends.
    public static let maxTextLength = 64 * 1024
    /// Longest organisation name, in Unicode scalars.
    public static let maxNameLength = 128

    /// The card version, always ``currentVersion``.
    public let version: Int
    /// The organisation's ODS code.
    public let org: ODSCode
    /// The organisation's name, for people to read.
    public let name: String
    /// The root key, which signs the card; its fingerprint is what partners pin.
    public let rootKey: SigningPublicKey
    /// The versioned key manifest: current, superseded and revoked keys, expiry, root history.
    public let manifest: KeyManifest
    /// The organisation's SSH key (Ed25519), with which its gateway logs in to mailbox relays,
    /// when it has one. Signed like every other field.
    public let sshKey: SigningPublicKey?
    /// The address of the mailbox where the organisation collects its mail (`dir:/path`, or
    /// `sftp://user@host:port ssh-ed25519 AAAA…` with the relay's host key), when it has one.
    /// Signed like every other field.
    public let mailbox: String?
    /// The root key's Ed25519 signature over the card's fields.
    public let signature: [UInt8]
    /// Longest mailbox address.
    public static let maxMailboxLength = 512

    /// The current signing key.
    public var signingKey: SigningPublicKey {
        guard case .signing(let key) = manifest.currentSigning.key else { preconditionFailure("validated manifest") }
        return key
    }
    /// The key id of ``signingKey``.
    public var signingKeyID: KeyID { manifest.currentSigning.id }
    /// The current encryption key, the one partners seal to.
    public var encryptionKey: AgreementPublicKey {
        guard case .encryption(let key) = manifest.currentEncryption.key else { preconditionFailure("validated manifest") }
        return key
    }
    /// The key id of ``encryptionKey``.
    public var encryptionKeyID: KeyID { manifest.currentEncryption.id }
    /// When the card (its manifest) was signed, in seconds since 1970 (UTC).
    public var created: UInt64 { manifest.created }
    /// When the manifest expires, in seconds since 1970 (UTC).
    public var expires: UInt64 { manifest.expires }

    init(org: ODSCode, name: String, rootKey: SigningPublicKey, manifest: KeyManifest,
         sshKey: SigningPublicKey? = nil, mailbox: String? = nil, signature: [UInt8]) {
        self.version = Self.currentVersion
        self.org = org
        self.name = name
        self.rootKey = rootKey
        self.manifest = manifest
        self.sshKey = sshKey
        self.mailbox = mailbox
        self.signature = signature
    }

    /// Makes a card with a first manifest (version 1, keys valid for a year) and signs it.
    public static func make(
        org: ODSCode, name: String, root: borrowing SigningSecretKey,
        signingKey: SigningPublicKey, encryptionKey: AgreementPublicKey, created: UInt64,
        sshKey: SigningPublicKey? = nil, mailbox: String? = nil
    ) throws(FormatError) -> IdentityCard {
        try make(org: org, name: name, root: root,
                 manifest: .first(signingKey: signingKey, encryptionKey: encryptionKey, created: created),
                 sshKey: sshKey, mailbox: mailbox)
    }

    /// Makes a card for `org` carrying `manifest` and signs it with `root`.
    ///
    /// Throws `invalidInput` when the name, the mailbox or the manifest breaks the rules of
    /// FORMAT.md §5, or a time is after 9999-12-31T23:59:59Z.
    public static func make(
        org: ODSCode, name: String, root: borrowing SigningSecretKey, manifest: KeyManifest,
        sshKey: SigningPublicKey? = nil, mailbox: String? = nil
    ) throws(FormatError) -> IdentityCard {
        try validateName(name)
        if let mailbox { try validateMailbox(mailbox) }
        let times = manifest.keys.flatMap { record -> [UInt64] in
            switch record.state {
            case .current(let until): [record.from, until]
            case .superseded(let at, let until): [record.from, at, until]
            case .revoked(let at, _): [record.from, at]
            }
        } + [manifest.created, manifest.expires]
        guard times.allSatisfy({ $0 <= RFC3339.maxSeconds }) else { throw .invalidInput("a time in the manifest is after the year 9999") }
        // One order on the card: current signing, current encryption, superseded, revoked.
        let ordered = [manifest.currentSigningIfAny, manifest.currentEncryptionIfAny].compactMap { $0 }
            + manifest.keys.filter { if case .superseded = $0.state { true } else { false } }
            + manifest.keys.filter { if case .revoked = $0.state { true } else { false } }
        let canonical = KeyManifest(version: manifest.version, created: manifest.created, expires: manifest.expires,
                                    keys: ordered, rootHistory: manifest.rootHistory)
        do {
            try manifest.validate(org: org, root: root.publicKey, place: "")
        } catch {
            throw .invalidInput(error.detail)
        }
        let unsigned = IdentityCard(org: org, name: name, rootKey: root.publicKey, manifest: canonical,
                                    sshKey: sshKey, mailbox: mailbox, signature: [])
        let signature = SignatureContext.identityCard.sign(unsigned.signedDigest, with: root)
        return IdentityCard(org: org, name: name, rootKey: root.publicKey, manifest: canonical,
                            sshKey: sshKey, mailbox: mailbox, signature: signature)
    }

    /// Checks a mailbox address against FORMAT.md §5: 1 to 512 printable ASCII characters, words
    /// separated by single spaces. What the address means is for the transport to decide.
    public static func validateMailbox(_ mailbox: String) throws(FormatError) {
        let bytes = Array(mailbox.utf8)
        guard (1...maxMailboxLength).contains(bytes.count), bytes.allSatisfy({ (0x20...0x7E).contains($0) }),
              bytes.first != 0x20, bytes.last != 0x20, !zip(bytes, bytes.dropFirst()).contains(where: { $0 == 0x20 && $1 == 0x20 }) else {
            throw .invalidInput("mailbox address \(mailbox.debugDescription) must be 1 to \(maxMailboxLength) printable ASCII characters, words separated by single spaces")
        }
    }

    /// Checks a name against FORMAT.md §5: 1 to 128 Unicode scalars of readable text (§3.7: NFC,
    /// no control, format, line-separator, unassigned or invisible characters, which could hide or
    /// reorder text a person reads), and no leading or trailing white space.
    public static func validateName(_ name: String) throws(FormatError) {
        let scalars = name.unicodeScalars
        guard !scalars.isEmpty else { throw .invalidInput("the organisation name is empty") }
        guard scalars.count <= maxNameLength else {
            throw .invalidInput("the organisation name is longer than \(maxNameLength) characters")
        }
        try ReadableText.check(name, "the organisation name")
        if let first = scalars.first, let last = scalars.last, first.properties.isWhitespace || last.properties.isWhitespace {
            throw .invalidInput("the organisation name starts or ends with white space")
        }
    }

    /// The root fingerprint to read aloud (FORMAT.md §2).
    public var fingerprint: String { Fingerprint.of(rootKey) }

    /// `created` as RFC 3339 UTC, e.g. `2026-11-25T09:30:00Z`.
    public var createdText: String { Self.time(created) }
    /// `expires` as RFC 3339 UTC.
    public var expiresText: String { Self.time(expires) }

    /// A time as written on the card (`make` and `parse` bound every time to the representable range).
    static func time(_ seconds: UInt64) -> String { RFC3339.format(seconds) ?? "9999-12-31T23:59:59Z" }

    /// The signed lines, from `version:` to the line before `signature:`, each ending in LF.
    var signedLines: String {
        var lines = [
            "version: \(version)",
            "org: \(org.value)",
            "name: \(name)",
            "root-key: ed25519 \(Base64.encode(rootKey.bytes))",
            "manifest: \(manifest.version)",
            "created: \(createdText)",
            "expires: \(expiresText)",
        ]
        for record in manifest.keys {
            let key = "\(record.key.algorithm) \(record.id.hex) \(Base64.encode(record.key.bytes)) \(Self.time(record.from))"
            switch record.state {
            case .current(let until): lines.append("\(record.key.role)-key: \(key) \(Self.time(until))")
            default: continue
            }
        }
        if let sshKey { lines.append("ssh-key: \(OpenSSHKey.publicLine(sshKey))") }
        if let mailbox { lines.append("mailbox: \(mailbox)") }
        for record in manifest.keys {
            let key = "\(record.key.algorithm) \(record.id.hex) \(Base64.encode(record.key.bytes)) \(Self.time(record.from))"
            switch record.state {
            case .current: continue
            case .superseded(let at, let until): lines.append("superseded-key: \(key) \(Self.time(at)) \(Self.time(until))")
            case .revoked(let at, let reason): lines.append("revoked-key: \(key) \(Self.time(at)) \(reason.rawValue)")
            }
        }
        for endorsement in manifest.rootHistory {
            lines.append("root-history: ed25519 \(Base64.encode(endorsement.root.bytes)) \(Base64.encode(endorsement.signature))")
        }
        return lines.map { $0 + "\n" }.joined()
    }

    /// SHA-256 of the signed lines, the value the root signs in the identity-card context.
    var signedDigest: SHA256Digest { SHA256Hasher.hash(Array(signedLines.utf8)) }

    /// The canonical card text, armour lines included, ending with LF.
    public var text: String {
        "\(Self.beginLine)\n\(signedLines)signature: \(Base64.encode(signature))\n\(Self.endLine)\n"
    }
}
