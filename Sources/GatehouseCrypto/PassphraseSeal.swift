internal import CSodium

/// A secret sealed under a passphrase: Argon2id (libsodium `crypto_pwhash`, ALG_ARGON2ID13)
/// derives a 32-byte key from the passphrase and a random salt, and XChaCha20-Poly1305 with a
/// random nonce encrypts the secret, binding `associatedData` (FORMAT.md §6).
public enum PassphraseSeal {
    /// Argon2id cost: libsodium's "interactive" limits (2 passes, 64 MiB) unless given.
    public struct Cost: Sendable, Equatable {
        public var operations: UInt64
        public var memoryKiB: UInt64
        public init(operations: UInt64, memoryKiB: UInt64) {
            self.operations = operations
            self.memoryKiB = memoryKiB
        }
        public static let interactive = Cost(operations: UInt64(crypto_pwhash_opslimit_interactive()),
                                             memoryKiB: UInt64(crypto_pwhash_memlimit_interactive()) / 1024)
        /// Whether libsodium accepts these limits (reading a file must not allocate without bound).
        public var isAcceptable: Bool {
            // The upper bound first: memoryKiB comes from a file, and multiplying first could overflow.
            operations >= UInt64(crypto_pwhash_opslimit_min()) && operations <= 16
                && memoryKiB <= 1 << 20 && memoryKiB * 1024 >= UInt64(crypto_pwhash_memlimit_min())
        }
    }

    public static let saltLength = Int(crypto_pwhash_SALTBYTES)
    public static let nonceLength = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// Seals `secret`; returns (salt, nonce, ciphertext with tag).
    public static func seal(_ secret: borrowing SecretBytes, passphrase: borrowing SecretBytes, cost: Cost = .interactive,
                            associatedData: (_ salt: [UInt8], _ nonce: [UInt8]) -> [UInt8]) throws(CryptoError) -> (salt: [UInt8], nonce: [UInt8], sealed: [UInt8]) {
        Sodium.ensureInitialised()
        // Public values: plain random bytes, not locked secret storage.
        let salt = randomBytes(saltLength)
        let nonce = randomBytes(nonceLength)
        let key = try derive(passphrase, salt: salt, cost: cost)
        let ad = associatedData(salt, nonce)
        var out = [UInt8](repeating: 0, count: secret.count + tagLength)
        var outLength: UInt64 = 0
        secret.withUnsafeBytes { m in
            key.withUnsafeBytes { k in
                _ = crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &outLength, m.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(m.count),
                                                                ad, UInt64(ad.count), nil, nonce, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        return (salt, nonce, out)
    }

    /// Opens a sealed secret; `authenticationFailed` for a wrong passphrase or changed file.
    public static func open(_ sealed: [UInt8], passphrase: borrowing SecretBytes, salt: [UInt8], nonce: [UInt8], cost: Cost,
                            associatedData: [UInt8]) throws(CryptoError) -> SecretBytes {
        Sodium.ensureInitialised()
        guard sealed.count > tagLength, salt.count == saltLength, nonce.count == nonceLength else {
            throw .authenticationFailed("the sealed secret has the wrong shape")
        }
        let key = try derive(passphrase, salt: salt, cost: cost)
        var secret = SecretBytes(zeroedCount: sealed.count - tagLength)
        var outLength: UInt64 = 0
        let rc = secret.withUnsafeMutableBytes { m in
            key.withUnsafeBytes { k in
                crypto_aead_xchacha20poly1305_ietf_decrypt(m.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength, nil, sealed, UInt64(sealed.count),
                                                           associatedData, UInt64(associatedData.count), nonce, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
        guard rc == 0 else { throw .authenticationFailed("wrong passphrase, or the key file was changed") }
        return secret
    }

    private static func derive(_ passphrase: borrowing SecretBytes, salt: [UInt8], cost: Cost) throws(CryptoError) -> SecretBytes {
        guard cost.isAcceptable else { throw .invalidKey("Argon2id limits out of range (\(cost.operations) passes, \(cost.memoryKiB) KiB)") }
        guard passphrase.count > 0 else { throw .invalidKey("the passphrase is empty") }
        var key = SecretBytes(zeroedCount: 32)
        let rc = key.withUnsafeMutableBytes { k in
            passphrase.withUnsafeBytes { p in
                crypto_pwhash(k.baseAddress!.assumingMemoryBound(to: UInt8.self), 32,
                              p.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(p.count), salt,
                              cost.operations, Int(cost.memoryKiB * 1024), crypto_pwhash_ALG_ARGON2ID13)
            }
        }
        guard rc == 0 else { throw .invalidKey("Argon2id failed (out of memory?)") }
        return key
    }
}
