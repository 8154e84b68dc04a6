internal import CSodium

/// An X25519 public key (32 bytes).
public struct AgreementPublicKey: Hashable, Sendable {
    /// Length of an X25519 key.
    public static let length = 32
    /// The raw key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 raw bytes; throws for any other length.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.length else {
            throw .invalidKey("an X25519 public key is \(Self.length) bytes, not \(bytes.count)")
        }
        self.bytes = bytes
    }
}

/// An X25519 secret key. Not copyable; wiped when it goes away.
public struct AgreementSecretKey: ~Copyable, Sendable {
    private let secret: SecretBytes
    /// The matching public key.
    public let publicKey: AgreementPublicKey

    /// A new random key.
    public static func generate() -> AgreementSecretKey {
        try! AgreementSecretKey(secret: SecretBytes.random(count: AgreementPublicKey.length))
    }

    /// Takes ownership of 32 secret bytes.
    public init(secret: consuming SecretBytes) throws(CryptoError) {
        Sodium.ensureInitialised()
        self.secret = secret
        let count = self.secret.count
        guard count == AgreementPublicKey.length else {
            throw .invalidKey("an X25519 secret key is \(AgreementPublicKey.length) bytes, not \(count)")
        }
        var pk = [UInt8](repeating: 0, count: AgreementPublicKey.length)
        let rc = self.secret.withUnsafeBytes { crypto_scalarmult_base(&pk, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        guard rc == 0 else { throw .libraryFailure("crypto_scalarmult_base failed") }
        self.publicKey = try AgreementPublicKey(bytes: pk)
    }

    /// Calls `body` with the 32 secret bytes, for writing the key to its file.
    public func withSecretBytes<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try secret.withUnsafeBytes(body)
    }

    /// The X25519 shared secret with `peer`. Throws when the result is all zeros, which
    /// happens only for small-order peer keys (libsodium checks this for us).
    public func sharedSecret(with peer: AgreementPublicKey) throws(CryptoError) -> SecretBytes {
        var shared = SecretBytes(zeroedCount: AgreementPublicKey.length)
        let rc = secret.withUnsafeBytes { sk in
            shared.withUnsafeMutableBytes { out in
                peer.bytes.withUnsafeBufferPointer { pk in
                    crypto_scalarmult(
                        out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        pk.baseAddress!
                    )
                }
            }
        }
        guard rc == 0 else { throw .invalidKey("X25519 key agreement produced the all-zero secret (small-order public key)") }
        return shared
    }

    /// Always redacted.
    public var description: String { "<redacted X25519 secret key>" }
}
