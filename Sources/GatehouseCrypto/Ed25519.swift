internal import CSodium

/// An Ed25519 public key (32 bytes).
public struct SigningPublicKey: Hashable, Sendable {
    /// Length of an Ed25519 public key.
    public static let length = 32
    /// Length of an Ed25519 signature.
    public static let signatureLength = 64

    /// The raw key bytes.
    public let bytes: [UInt8]

    /// Wraps 32 raw bytes; throws for any other length.
    public init(bytes: [UInt8]) throws(CryptoError) {
        guard bytes.count == Self.length else {
            throw .invalidKey("an Ed25519 public key is \(Self.length) bytes, not \(bytes.count)")
        }
        self.bytes = bytes
    }

    /// Checks a pure Ed25519 signature over `message`. libsodium rejects non-canonical
    /// signatures and small-order keys, so a valid signature is unique for its message.
    public func isValidSignature(_ signature: [UInt8], for message: UnsafeRawBufferPointer) -> Bool {
        Sodium.ensureInitialised()
        guard signature.count == Self.signatureLength else { return false }
        return signature.withUnsafeBufferPointer { sig in
            bytes.withUnsafeBufferPointer { pk in
                crypto_sign_verify_detached(
                    sig.baseAddress!,
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(message.count),
                    pk.baseAddress!
                ) == 0
            }
        }
    }

    /// Checks a pure Ed25519 signature over `message`.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0) }
    }
}

/// An Ed25519 secret key. Not copyable; wiped when it goes away.
public struct SigningSecretKey: ~Copyable, Sendable {
    /// Length of the seed from which the key is derived.
    public static let seedLength = 32

    private let expanded: SecretBytes  // libsodium's 64-byte form: seed || public key
    /// The matching public key.
    public let publicKey: SigningPublicKey

    /// A new random key.
    public static func generate() -> SigningSecretKey {
        let seed = SecretBytes.random(count: seedLength)
        return try! SigningSecretKey(seed: seed)
    }

    /// Derives the key from its 32-byte seed.
    public init(seed: borrowing SecretBytes) throws(CryptoError) {
        Sodium.ensureInitialised()
        guard seed.count == Self.seedLength else {
            throw .invalidKey("an Ed25519 seed is \(Self.seedLength) bytes, not \(seed.count)")
        }
        var expanded = SecretBytes(zeroedCount: Int(crypto_sign_SECRETKEYBYTES))
        var pk = [UInt8](repeating: 0, count: SigningPublicKey.length)
        let rc = seed.withUnsafeBytes { s in
            expanded.withUnsafeMutableBytes { sk in
                crypto_sign_seed_keypair(&pk, sk.baseAddress!.assumingMemoryBound(to: UInt8.self), s.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        // crypto_sign_seed_keypair cannot fail for a 32-byte seed.
        precondition(rc == 0, "crypto_sign_seed_keypair failed")
        self.expanded = expanded
        self.publicKey = try! SigningPublicKey(bytes: pk)
    }

    /// Calls `body` with the 32-byte seed, for writing the key to its file.
    public func withSeed<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try expanded.withUnsafeBytes { (all: UnsafeRawBufferPointer) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: all[0..<Self.seedLength]))
        }
    }

    /// A pure Ed25519 signature over `message`.
    public func sign(_ message: UnsafeRawBufferPointer) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: SigningPublicKey.signatureLength)
        expanded.withUnsafeBytes { sk in
            _ = crypto_sign_detached(
                &signature, nil,
                message.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(message.count),
                sk.baseAddress!.assumingMemoryBound(to: UInt8.self)
            )
        }
        return signature
    }

    /// A pure Ed25519 signature over `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] { message.withUnsafeBytes { sign($0) } }

    /// Always redacted.
    public var description: String { "<redacted Ed25519 secret key>" }
}
