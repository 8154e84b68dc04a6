internal import CSodium

/// Keyed BLAKE2b (libsodium `crypto_generichash`), used to derive subkeys and key commitments.
public enum KeyedHash {
    /// Keyed BLAKE2b-256 of the concatenation of `parts`, as a new secret.
    ///
    /// Used for key derivation: the output is as secret as the key.
    public static func deriveKey(from key: borrowing SecretBytes, parts: [[UInt8]]) -> SecretBytes {
        var out = SecretBytes(zeroedCount: 32)
        out.withUnsafeMutableBytes { o in
            key.withUnsafeBytes { k in run(key: k, parts: parts, into: o) }
        }
        return out
    }

    /// Keyed BLAKE2b-256 of the concatenation of `parts`, as public bytes.
    ///
    /// Used for key commitments, which are published in the bundle header.
    public static func commitment(to key: borrowing SecretBytes, parts: [[UInt8]]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { o in
            key.withUnsafeBytes { k in run(key: k, parts: parts, into: o) }
        }
        return out
    }

    private static func run(key: UnsafeRawBufferPointer, parts: [[UInt8]], into out: UnsafeMutableRawBufferPointer) {
        Sodium.ensureInitialised()
        precondition(key.count >= Int(crypto_generichash_KEYBYTES_MIN) && key.count <= Int(crypto_generichash_KEYBYTES_MAX))
        // The state struct is 64-byte aligned in C, which Swift imports as an opaque type.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: crypto_generichash_statebytes(), alignment: 64)
        let state = OpaquePointer(raw)
        defer {
            // The state holds key-derived material.
            sodium_memzero(raw, crypto_generichash_statebytes())
            raw.deallocate()
        }
        crypto_generichash_init(state, key.baseAddress!.assumingMemoryBound(to: UInt8.self), key.count, out.count)
        for part in parts {
            part.withUnsafeBufferPointer { p in
                _ = crypto_generichash_update(state, p.baseAddress, UInt64(p.count))
            }
        }
        crypto_generichash_final(state, out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count)
    }
}
