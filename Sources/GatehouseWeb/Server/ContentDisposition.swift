/// `Content-Disposition: attachment` for a file name from a signed manifest (RFC 6266): a plain
/// ASCII `filename` in which anything but letters, digits and `._-()+` becomes `_`, and the exact
/// name as `filename*` in UTF-8, percent-encoded (RFC 8187). Nothing in the name can end the
/// header, start another or break out of the quotes.
enum ContentDisposition {
    static func attachment(_ name: String, inline: Bool = false) -> String {
        var fallback = ""
        for byte in name.utf8 {
            let plain =
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || [0x2E, 0x5F, 0x2D, 0x28, 0x29, 0x2B].contains(byte)
            fallback.unicodeScalars.append(plain ? Unicode.Scalar(byte) : "_")
        }
        if fallback.isEmpty { fallback = "download" }
        var encoded = ""
        for byte in name.utf8 {
            let attrChar =
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || [0x21, 0x23, 0x24, 0x26, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E].contains(byte)
            if attrChar {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(2)
            }
        }
        return "\(inline ? "inline" : "attachment"); filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }
}
