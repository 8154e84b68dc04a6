internal import CLibcrypto

/// A SHA-256 digest (32 bytes), printed as lowercase hex like `sha256sum`.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    /// The digest bytes.
    public let bytes: [UInt8]

    /// Wraps 32 digest bytes; returns nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == SHA256Hasher.digestLength else { return nil }
        self.bytes = bytes
    }

    /// Lowercase hexadecimal, 64 characters.
    public var hex: String { bytes.hexString }
    public var description: String { hex }

    /// Constant-time comparison, for digests that protect integrity.
    public func constantTimeEquals(_ other: SHA256Digest) -> Bool { constantTimeEqual(bytes, other.bytes) }
}

/// Incremental SHA-256 through OpenSSL's libcrypto, which uses the CPU's SHA extensions
/// where present (about three times faster than portable code on the target machines).
///
/// Owns its `EVP_MD_CTX`; `deinit` frees it.
public final class SHA256Hasher {
    /// SHA-256 output length in bytes.
    public static let digestLength = 32

    private let context: OpaquePointer
    fileprivate var contextForCopy: OpaquePointer { context }

    /// A fresh hasher.
    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.context = context
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { fatalError("EVP_DigestInit_ex(sha256) failed") }
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds bytes into the hash.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, base, bytes.count) == 1 else { fatalError("EVP_DigestUpdate failed") }
    }

    /// Feeds bytes into the hash.
    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Finishes the hash. The hasher must not be used afterwards.
    public func finalize() -> SHA256Digest {
        var out = [UInt8](repeating: 0, count: Self.digestLength)
        var length: UInt32 = 0
        let ok = out.withUnsafeMutableBytes { EVP_DigestFinal_ex(context, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) }
        precondition(ok == 1 && length == 32, "EVP_DigestFinal_ex failed")
        return SHA256Digest(bytes: out)!
    }

    /// SHA-256 of `bytes` in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// SHA-256 of `bytes` in one call.
    public static func hash(_ bytes: [UInt8]) -> SHA256Digest { bytes.withUnsafeBytes { hash($0) } }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal.
    public var hexString: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Array where Element == UInt8 {
    /// Parses lowercase or uppercase hexadecimal; nil if the text is not hex of even length.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = value(utf8[i]), let lo = value(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }
}

extension SHA256Hasher {
    /// An independent hasher in the same state, so one pass can produce the digest of a
    /// prefix and of the whole (a bundle's signed digest and its exact-bytes digest).
    public func copy() -> SHA256Hasher {
        let other = SHA256Hasher()
        guard EVP_MD_CTX_copy_ex(other.contextForCopy, contextForCopy) == 1 else { fatalError("EVP_MD_CTX_copy_ex failed") }
        return other
    }
}
