public import GatehouseCrypto

/// An organisation's public identity (FORMAT.md §5): its root key, which partners pin after
/// comparing the fingerprint by phone, and the current signing and encryption keys, all signed
/// by the root key.
///
/// Values of this type are always valid: they come from ``make(org:name:root:signingKey:encryptionKey:created:)``
/// or from ``parse(_:)``, which verifies the root signature.
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
    /// The current signing key.
    public let signingKey: SigningPublicKey
    /// The key id of ``signingKey``.
    public let signingKeyID: KeyID
    /// The current encryption key.
    public let encryptionKey: AgreementPublicKey
    /// The key id of ``encryptionKey``.
    public let encryptionKeyID: KeyID
    /// When the card was made, in seconds since 1970 (UTC).
    public let created: UInt64
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

    init(org: ODSCode, name: String, rootKey: SigningPublicKey, signingKey: SigningPublicKey,
         encryptionKey: AgreementPublicKey, created: UInt64, sshKey: SigningPublicKey? = nil, mailbox: String? = nil, signature: [UInt8]) {
        self.version = Self.currentVersion
        self.org = org
        self.name = name
        self.rootKey = rootKey
        self.signingKey = signingKey
        self.signingKeyID = KeyID(signing: signingKey)
        self.encryptionKey = encryptionKey
        self.encryptionKeyID = KeyID(agreement: encryptionKey)
        self.created = created
        self.sshKey = sshKey
        self.mailbox = mailbox
        self.signature = signature
    }

    /// Makes a card for `org` and signs it with `root`.
    ///
    /// Throws `invalidInput` when the name breaks the rules of FORMAT.md §5 or `created` is after
    /// 9999-12-31T23:59:59Z.
    public static func make(
        org: ODSCode, name: String, root: borrowing SigningSecretKey,
        signingKey: SigningPublicKey, encryptionKey: AgreementPublicKey, created: UInt64,
        sshKey: SigningPublicKey? = nil, mailbox: String? = nil
    ) throws(FormatError) -> IdentityCard {
        try validateName(name)
        if let mailbox { try validateMailbox(mailbox) }
        guard created <= RFC3339.maxSeconds else { throw .invalidInput("created: \(created) is after the year 9999") }
        let unsigned = IdentityCard(org: org, name: name, rootKey: root.publicKey, signingKey: signingKey,
                                    encryptionKey: encryptionKey, created: created, sshKey: sshKey, mailbox: mailbox, signature: [])
        let signature = SignatureContext.identityCard.sign(unsigned.signedDigest, with: root)
        return IdentityCard(org: org, name: name, rootKey: root.publicKey, signingKey: signingKey,
                            encryptionKey: encryptionKey, created: created, sshKey: sshKey, mailbox: mailbox, signature: signature)
    }

    /// Checks a mailbox address against FORMAT.md §5: 1 to 512 printable ASCII characters, words
    /// separated by single spaces. What the address means is for the transport to decide.
    public static func validateMailbox(_ mailbox: String) throws(FormatError) {
        let bytes = Array(mailbox.utf8)
        guard (1...maxMailboxLength).contains(bytes.count), bytes.allSatisfy({ (0x20...0x7E).contains($0) }),
              bytes.first != 0x20, bytes.last != 0x20, !mailbox.contains("  ") else {
            throw .invalidInput("mailbox address \(mailbox.debugDescription) must be 1 to \(maxMailboxLength) printable ASCII characters, words separated by single spaces")
        }
    }

    /// Checks a name against FORMAT.md §5: 1 to 128 Unicode scalars, no control, format or
    /// line-separator characters (which could hide or reorder text a person reads), and no
    /// leading or trailing white space.
    public static func validateName(_ name: String) throws(FormatError) {
        let scalars = name.unicodeScalars
        guard !scalars.isEmpty else { throw .invalidInput("the organisation name is empty") }
        guard scalars.count <= maxNameLength else {
            throw .invalidInput("the organisation name is longer than \(maxNameLength) characters")
        }
        for scalar in scalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate:
                let code = String(scalar.value, radix: 16, uppercase: true)
                throw .invalidInput("the organisation name contains the character U+\(String(repeating: "0", count: max(0, 4 - code.count)) + code), which is not allowed")
            default: continue
            }
        }
        if let first = scalars.first, let last = scalars.last, first.properties.isWhitespace || last.properties.isWhitespace {
            throw .invalidInput("the organisation name starts or ends with white space")
        }
    }

    /// The root fingerprint to read aloud (FORMAT.md §2).
    public var fingerprint: String { Fingerprint.of(rootKey) }

    /// `created` as RFC 3339 UTC, e.g. `2026-11-25T09:30:00Z`.
    public var createdText: String {
        // `make` and `parse` both bound `created` to the representable range.
        RFC3339.format(created) ?? "9999-12-31T23:59:59Z"
    }

    /// The signed lines, from `version:` to `created:` (then `ssh-key:` and `mailbox:` when
    /// present), each ending in LF.
    var signedLines: String {
        var lines = [
            "version: \(version)",
            "org: \(org.value)",
            "name: \(name)",
            "root-key: ed25519 \(Base64.encode(rootKey.bytes))",
            "signing-key: ed25519 \(signingKeyID.hex) \(Base64.encode(signingKey.bytes))",
            "encryption-key: x25519 \(encryptionKeyID.hex) \(Base64.encode(encryptionKey.bytes))",
            "created: \(createdText)",
        ]
        if let sshKey { lines.append("ssh-key: \(OpenSSHKey.publicLine(sshKey))") }
        if let mailbox { lines.append("mailbox: \(mailbox)") }
        return lines.map { $0 + "\n" }.joined()
    }

    /// SHA-256 of the signed lines, the value the root signs in the identity-card context.
    var signedDigest: SHA256Digest { SHA256Hasher.hash(Array(signedLines.utf8)) }

    /// The canonical card text, armour lines included, ending with LF.
    public var text: String {
        "\(Self.beginLine)\n\(signedLines)signature: \(Base64.encode(signature))\n\(Self.endLine)\n"
    }
}
