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
