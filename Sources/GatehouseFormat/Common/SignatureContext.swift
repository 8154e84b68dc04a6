public import GatehouseCrypto

/// The purpose a signature is made for. Each signs `label || SHA-256(bytes)`, so a signature made
/// for one purpose never verifies for another (FORMAT.md §1).
public enum SignatureContext: String, Sendable, CaseIterable {
    /// The outer signature over a bundle's header and payload.
    case bundle = "gatehouse/v1/bundle\0"
    /// The inner signature over a manifest.
    case manifest = "gatehouse/v1/manifest\0"
    /// A receipt.
    case receipt = "gatehouse/v1/receipt\0"
    /// An identity card, signed by the root key.
    case identityCard = "gatehouse/v1/identity-card\0"
    /// A checkpoint of the audit log, signed by the operational signing key.
    case auditCheckpoint = "gatehouse/v1/audit-checkpoint\0"
    /// An old root key's endorsement of the root that replaces it.
    case rootRotation = "gatehouse/v1/root-rotation\0"

    /// The exact bytes that are signed for `digest`.
    public func message(for digest: SHA256Digest) -> [UInt8] {
        Array(rawValue.utf8) + digest.bytes
    }

    /// Signs `digest` in this context.
    public func sign(_ digest: SHA256Digest, with key: borrowing SigningSecretKey) -> [UInt8] {
        key.sign(message(for: digest))
    }

    /// Checks a signature over `digest` in this context.
    public func verify(_ signature: [UInt8], over digest: SHA256Digest, by key: SigningPublicKey) -> Bool {
        key.isValidSignature(signature, for: message(for: digest))
    }
}
