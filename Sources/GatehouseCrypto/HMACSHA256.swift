internal import CSodium

/// HMAC-SHA-256 (RFC 2104; libsodium `crypto_auth_hmacsha256`), with a key of any length: what
/// webhook receivers check a notification's `X-Gatehouse-Signature` with.
public enum HMACSHA256 {
    /// The 32-byte tag of `message` under `key`.
    public static func authenticate(_ message: [UInt8], key: borrowing SecretBytes) -> [UInt8] {
        Sodium.ensureInitialised()
        precondition(key.count > 0, "an HMAC key cannot be empty")
        var tag = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: crypto_auth_hmacsha256_statebytes(), alignment: 64)
        defer {
            // The state holds the padded key.
            sodium_memzero(raw, crypto_auth_hmacsha256_statebytes())
            raw.deallocate()
        }
        let state = raw.assumingMemoryBound(to: crypto_auth_hmacsha256_state.self)
        key.withUnsafeBytes { k in
            _ = crypto_auth_hmacsha256_init(state, k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
        }
        message.withUnsafeBufferPointer { m in
            _ = crypto_auth_hmacsha256_update(state, m.baseAddress, UInt64(m.count))
        }
        tag.withUnsafeMutableBufferPointer { t in _ = crypto_auth_hmacsha256_final(state, t.baseAddress!) }
        return tag
    }
}
