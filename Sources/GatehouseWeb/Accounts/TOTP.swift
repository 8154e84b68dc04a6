import GatehouseCrypto

/// Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): 6 digits, 30-second steps,
/// HMAC-SHA-1 by default (what authenticator apps use).
package struct TOTP: Sendable {
    /// The shared secret (20 random bytes for new enrolments).
    package let secret: [UInt8]
    package var digits = 6
    package var step: Int64 = 30
    package var hash: HMAC.Hash = .sha1

    package init(secret: [UInt8], digits: Int = 6, hash: HMAC.Hash = .sha1) {
        self.secret = secret
        self.digits = digits
        self.hash = hash
    }

    /// A new random secret.
    package static func newSecret() -> [UInt8] { randomBytes(20) }

    /// The time step holding `unixSeconds`.
    package func counter(at unixSeconds: Int64) -> Int64 { unixSeconds / step }

    /// The code for time step `counter` (RFC 4226 §5.3, dynamic truncation).
    package func code(counter: Int64) -> String {
        let message = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: counter) >> (56 - 8 * UInt64($0))) }
        let mac = HMAC.authenticate(message, key: secret, hash: hash)
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary =
            (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(binary % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The step `code` is valid for at `unixSeconds`, allowing one step of clock drift either
    /// way; nil when it matches none. Compared in constant time.
    package func matchingCounter(_ code: String, at unixSeconds: Int64) -> Int64? {
        let typed = Array(code.utf8.filter { $0 != 0x20 })
        guard typed.count == digits, typed.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let now = counter(at: unixSeconds)
        var found: Int64?
        for candidate in [now - 1, now, now + 1]
        where constantTimeEqual(Array(self.code(counter: candidate).utf8), typed) {
            found = candidate
        }
        return found
    }

    /// The `otpauth://` URI an authenticator app reads (from the QR code or typed in).
    package func uri(account: String, issuer: String) -> String {
        let label = Self.percentEncode("\(issuer):\(account)")
        return "otpauth://totp/\(label)?secret=\(Base32.encode(secret))&issuer=\(Self.percentEncode(issuer))"
            + "&algorithm=SHA1&digits=\(digits)&period=\(step)"
    }

    /// Percent-encodes everything but unreserved ASCII (RFC 3986).
    static func percentEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let unreserved =
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if unreserved {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
