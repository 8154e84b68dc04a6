internal import CLibcrypto

/// HMAC (RFC 2104) through libcrypto: for one-time passwords (RFC 4226 and 6238 use HMAC-SHA-1
/// by default; authenticator apps follow) and for the `X-Gatehouse-Signature` of a notification
/// (HMAC-SHA-256 under a shared secret). Not for anything that signs or binds records.
public enum HMAC {
    /// The hash under the MAC.
    public enum Hash: Sendable {
        case sha1, sha256, sha512
    }

    /// HMAC of `message` under `key`.
    public static func authenticate(_ message: [UInt8], key: [UInt8], hash: Hash) -> [UInt8] {
        key.withUnsafeBytes { authenticate(message, keyBytes: $0, hash: hash) }
    }

    /// HMAC of `message` under a secret `key`, read in place (never copied out of its wiped storage).
    public static func authenticate(_ message: [UInt8], key: borrowing SecretBytes, hash: Hash) -> [UInt8] {
        precondition(key.count > 0, "an HMAC key cannot be empty")
        return key.withUnsafeBytes { authenticate(message, keyBytes: $0, hash: hash) }
    }

    private static func authenticate(_ message: [UInt8], keyBytes k: UnsafeRawBufferPointer, hash: Hash) -> [UInt8] {
        let md: OpaquePointer? =
            switch hash {
            case .sha1: EVP_sha1()
            case .sha256: EVP_sha256()
            case .sha512: EVP_sha512()
            }
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        let result = message.withUnsafeBytes { m in
            CLibcrypto.HMAC(
                md, k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                m.count, &out, &length)
        }
        precondition(result != nil, "HMAC failed in libcrypto")
        return Array(out.prefix(Int(length)))
    }
}
