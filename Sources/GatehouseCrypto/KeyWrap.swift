internal import CSodium

/// XChaCha20-Poly1305 (IETF) for wrapping one 32-byte content key under a single-use key.
public enum KeyWrap {
    /// Length of a wrapped 32-byte key: ciphertext plus the Poly1305 tag.
    public static let wrappedLength = 32 + 16

    /// Encrypts `contentKey` under `wrapKey`.
    ///
    /// The nonce is all zeros: `wrapKey` is derived from a fresh ephemeral key agreement
    /// and is used exactly once, so nonce reuse is impossible.
    public static func wrap(_ contentKey: borrowing SecretBytes, with wrapKey: borrowing SecretBytes, associatedData: [UInt8]) -> [UInt8] {
        Sodium.ensureInitialised()
        precondition(contentKey.count == 32 && wrapKey.count == Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES))
        var out = [UInt8](repeating: 0, count: wrappedLength)
        let nonce = [UInt8](repeating: 0, count: Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES))
        var outLength: UInt64 = 0
        contentKey.withUnsafeBytes { m in
            wrapKey.withUnsafeBytes { k in
                _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                    &out, &outLength,
                    m.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(m.count),
                    associatedData, UInt64(associatedData.count), nil,
                    nonce, k.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
        precondition(outLength == UInt64(wrappedLength))
        return out
    }

    /// Decrypts a wrapped content key; throws if the tag does not verify.
    public static func unwrap(_ wrapped: [UInt8], with wrapKey: borrowing SecretBytes, associatedData: [UInt8]) throws(CryptoError) -> SecretBytes {
        Sodium.ensureInitialised()
        guard wrapped.count == wrappedLength else { throw .authenticationFailed("wrapped key has the wrong length") }
        var contentKey = SecretBytes(zeroedCount: 32)
        let nonce = [UInt8](repeating: 0, count: Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES))
        var outLength: UInt64 = 0
        let rc = contentKey.withUnsafeMutableBytes { m in
            wrapKey.withUnsafeBytes { k in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    m.baseAddress!.assumingMemoryBound(to: UInt8.self), &outLength, nil,
                    wrapped, UInt64(wrapped.count),
                    associatedData, UInt64(associatedData.count),
                    nonce, k.baseAddress!.assumingMemoryBound(to: UInt8.self)
                )
            }
        }
        guard rc == 0, outLength == 32 else { throw .authenticationFailed("the wrapped content key does not authenticate") }
        return contentKey
    }
}
