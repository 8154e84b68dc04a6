import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting

/// Deterministic keys and cards for the identity-card tests, from public labels as in
/// FORMAT.md's test kit: `seed = SHA-256("gatehouse/v1/test-key\0" || label)`.
enum CardFixtures {
    static func seed(_ label: String) -> SecretBytes { TestOrganisation.testSeed(label) }

    static func signingKey(_ label: String) -> SigningSecretKey { try! SigningSecretKey(seed: seed(label)) }
    static func agreementKey(_ label: String) -> AgreementSecretKey { try! AgreementSecretKey(secret: seed(label)) }

    /// 2026-11-25T09:30:00Z.
    static let created: UInt64 = RFC3339.parse("2026-11-25T09:30:00Z")!

    /// A valid card for a GP practice, signed by the root key made from `label`.
    static func card(org: String = "A81001", name: String = "Riverside Medical Practice",
                     label: String = "riverside", created: UInt64 = created) -> IdentityCard {
        let root = signingKey("\(label)-root")
        return try! IdentityCard.make(
            org: ODSCode(org), name: name, root: root,
            signingKey: signingKey("\(label)-signing").publicKey,
            encryptionKey: agreementKey("\(label)-encryption").publicKey,
            created: created)
    }

    /// The card's lines (armour included), without the final empty string.
    static func lines(of card: IdentityCard) -> [String] {
        card.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    /// Joins lines back into card text.
    static func text(_ lines: [String]) -> String { lines.joined(separator: "\n") + "\n" }
}

/// A card with a key history, for the key-manifest tests: manifest version 3, made at ``t0`` by
/// root 2, which root 1 endorsed, which root 0 endorsed. Keys from public labels, as above.
enum ManifestFixtures {
    static let org = try! ODSCode("A81001")
    /// 2026-11-25T09:30:00Z.
    static let t0 = CardFixtures.created
    static let day: UInt64 = 86_400

    static func root(_ number: Int) -> SigningSecretKey { CardFixtures.signingKey("manifest-root-\(number)") }
    static func signing(_ number: Int) -> SigningPublicKey { CardFixtures.signingKey("manifest-signing-\(number)").publicKey }
    static func encryption(_ number: Int) -> AgreementPublicKey { CardFixtures.agreementKey("manifest-encryption-\(number)").publicKey }

    /// Signing and encryption key 2, current from `t0` for a year.
    static var current: [ManifestKeyRecord] {
        [ManifestKeyRecord(key: .signing(signing(2)), from: t0, state: .current(until: t0 + 365 * day)),
         ManifestKeyRecord(key: .encryption(encryption(2)), from: t0, state: .current(until: t0 + 365 * day))]
    }

    /// ``current``, then signing and encryption key 1, superseded at `t0` with 30 days' grace,
    /// then signing key 0, revoked (compromised) at `t0` − 100 days.
    static var keys: [ManifestKeyRecord] {
        current + [
            ManifestKeyRecord(key: .signing(signing(1)), from: t0 - 100 * day, state: .superseded(at: t0, until: t0 + 30 * day)),
            ManifestKeyRecord(key: .encryption(encryption(1)), from: t0 - 100 * day, state: .superseded(at: t0, until: t0 + 30 * day)),
            ManifestKeyRecord(key: .signing(signing(0)), from: t0 - 200 * day, state: .revoked(at: t0 - 100 * day, reason: .compromised)),
        ]
    }

    /// Root n endorses root n + 1, for n below `count`: the history of a card whose root is `count`.
    static func history(to count: Int, org: ODSCode = org) -> [RootEndorsement] {
        (0..<count).map { RootEndorsement.endorse(org: org, next: root($0 + 1).publicKey, with: root($0)) }
    }

    static func manifest(version: UInt64 = 3, keys: [ManifestKeyRecord] = keys, history: [RootEndorsement] = history(to: 2)) -> KeyManifest {
        KeyManifest(version: version, created: t0, expires: t0 + 365 * day, keys: keys, rootHistory: history)
    }

    /// The card of `manifest`, signed by root number `root`.
    static func card(_ manifest: KeyManifest = manifest(), root: Int = 2, sshKey: SigningPublicKey? = nil,
                     mailbox: String? = nil) throws(FormatError) -> IdentityCard {
        try IdentityCard.make(org: org, name: "Riverside Medical Practice", root: self.root(root), manifest: manifest,
                              sshKey: sshKey, mailbox: mailbox)
    }

    /// The signed lines of `card`: those between the BEGIN line and `signature:`.
    static func fields(of card: IdentityCard) -> [String] { Array(CardFixtures.lines(of: card).dropFirst().dropLast(2)) }

    /// Card text for `fields`, signed by root number `root` exactly as a card is signed, so that
    /// a test's only defect is the one it is about.
    static func signed(_ fields: [String], root: Int = 2) -> String {
        let lines = fields.map { $0 + "\n" }.joined()
        let signature = SignatureContext.identityCard.sign(SHA256Hasher.hash(Array(lines.utf8)), with: self.root(root))
        return "\(IdentityCard.beginLine)\n\(lines)signature: \(Base64.encode(signature))\n\(IdentityCard.endLine)\n"
    }

    /// A key line as a card writes it: `FIELD: ALG KEYID BASE64 FROM` and then `rest`.
    static func line(_ field: String, _ key: ManifestKey, from: UInt64, _ rest: String...) -> String {
        ([field + ":", key.algorithm, key.id.hex, Base64.encode(key.bytes), time(from)] + rest).joined(separator: " ")
    }

    /// A `root-history` line.
    static func line(_ endorsement: RootEndorsement) -> String {
        "root-history: ed25519 \(Base64.encode(endorsement.root.bytes)) \(Base64.encode(endorsement.signature))"
    }

    static func time(_ seconds: UInt64) -> String { RFC3339.format(seconds)! }
}
