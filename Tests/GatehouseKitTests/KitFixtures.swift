import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting

/// Values and helpers shared by the key-store and partner-store tests.
enum KitFixtures {
    /// A GP practice.
    static let practice = try! ODSCode("A81001")
    /// A prison healthcare team.
    static let prison = try! ODSCode("XHM01")
    /// A key id no test key has.
    static let unknownKeyID = try! KeyID(hex: "0011223344556677")
    /// 2026-11-25T09:30:00Z: when the deterministic identities are made. Tests pass their own
    /// `now`, so that expiry never depends on the machine's clock.
    static let created: UInt64 = 1_795_599_000
    static let day: UInt64 = 86_400

    /// The error `body` throws, or nil.
    static func kitError(_ body: () throws(KitError) -> Void) -> KitError? {
        do { try body(); return nil } catch { return error }
    }

    /// Keys from public labels (FORMAT.md, "Test vectors"): test keys, not secrets.
    static func signingKey(_ label: String) -> SigningSecretKey { try! SigningSecretKey(seed: TestOrganisation.testSeed(label)) }
    static func agreementKey(_ label: String) -> AgreementSecretKey { try! AgreementSecretKey(secret: TestOrganisation.testSeed(label)) }

    /// The passphrase of the protected root key files in these tests.
    static func passphrase() -> SecretBytes { SecretBytes(copying: Array("correct horse battery staple".utf8)) }

    /// The prison's card: manifest `version`, keys from `keys`, signed by the root made from
    /// `root`, whose history is the roots made from `history`, oldest first, each endorsing the next.
    static func prisonCard(version: UInt64, root: String = "northgate-root-0", history: [String] = [], keys: String = "a",
                           created: UInt64 = created, lifetime: UInt64 = KeyManifest.defaultLifetime) throws -> IdentityCard {
        let first = KeyManifest.first(signingKey: signingKey("northgate-signing-\(keys)").publicKey,
                                      encryptionKey: agreementKey("northgate-encryption-\(keys)").publicKey,
                                      created: created, lifetime: lifetime)
        let chain = history + [root]
        let endorsements = history.indices.map { index in
            RootEndorsement.endorse(org: prison, next: signingKey(chain[index + 1]).publicKey, with: signingKey(chain[index]))
        }
        let manifest = KeyManifest(version: version, created: first.created, expires: first.expires, keys: first.keys, rootHistory: endorsements)
        return try IdentityCard.make(org: prison, name: "HMP Northgate Healthcare", root: signingKey(root), manifest: manifest)
    }
}
