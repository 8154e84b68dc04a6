/// Standard base64 with padding (RFC 4648 §4), as identity cards and secret key files use it.
///
/// Decoding is strict: exactly one text is accepted for any byte string. Anything else a lenient
/// decoder would tolerate (missing padding, whitespace, the URL alphabet, non-zero unused bits)
/// is refused, so a card or key file has a single valid spelling.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let padding = UInt8(ascii: "=")

    /// The length of the base64 text for `count` bytes.
    public static func encodedLength(of count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Encodes `bytes` into `output` (which must hold ``encodedLength(of:)`` bytes) as ASCII.
    /// Pointer-based so that secret keys can be encoded straight into wiped storage.
    public static func encode(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= encodedLength(of: bytes.count), "base64 output buffer too small")
        var o = 0
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            output[o] = alphabet[Int(triple >> 18 & 0x3f)]
            output[o + 1] = alphabet[Int(triple >> 12 & 0x3f)]
            output[o + 2] = i + 1 < bytes.count ? alphabet[Int(triple >> 6 & 0x3f)] : padding
            output[o + 3] = i + 2 < bytes.count ? alphabet[Int(triple & 0x3f)] : padding
            i += 3
            o += 4
        }
    }

    /// The base64 text of `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8](repeating: 0, count: encodedLength(of: bytes.count))
        bytes.withUnsafeBytes { source in out.withUnsafeMutableBytes { encode(source, into: $0) } }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes canonical base64 text into `output`, returning the number of bytes written, or
    /// nil when the text is not canonical or does not fit. Used for secrets, so nothing is
    /// copied outside `output`.
    public static func decode(_ text: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard text.count % 4 == 0 else { return nil }
        var written = 0
        var i = 0
        while i < text.count {
            let isLast = i + 4 == text.count
            // Padding may appear only in the last quantum, as "xx==" or "xxx=".
            let pad = isLast ? (text[i + 3] == padding ? (text[i + 2] == padding ? 2 : 1) : 0) : 0
            var quantum: UInt32 = 0
            for j in 0..<(4 - pad) {
                guard let v = value(of: text[i + j]) else { return nil }
                quantum = quantum << 6 | v
            }
            quantum <<= UInt32(6 * pad)
            let produced = 3 - pad
            // Canonical form: the bits the padding leaves unused must be zero.
            guard pad == 0 || quantum & ((1 << (8 * UInt32(pad))) - 1) == 0 else { return nil }
            guard written + produced <= output.count else { return nil }
            for k in 0..<produced { output[written + k] = UInt8(truncatingIfNeeded: quantum >> UInt32(16 - 8 * k)) }
            written += produced
            i += 4
        }
        return written
    }

    /// Decodes canonical base64 text; nil for anything else. Decodes strictly and then checks
    /// that re-encoding gives back exactly the same text, so only one spelling is ever accepted.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let ascii = Array(text.utf8)
        var out = [UInt8](repeating: 0, count: ascii.count / 4 * 3)
        let count = ascii.withUnsafeBytes { source in out.withUnsafeMutableBytes { decode(source, into: $0) } }
        guard let count else { return nil }
        out.removeLast(out.count - count)
        guard encode(out).sameBytes(text) else { return nil }
        return out
    }

    private static func value(of c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(c - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
