/// File-name rules for names carried in a manifest (FORMAT.md §3.7). Both the sealer and the
/// opener enforce them, so a manifest name can never escape the output folder.
public enum FileNameRule {
    /// Longest name, in UTF-8 bytes.
    public static let maxLength = 255

    /// Throws `invalidInput` with the reason when `name` is not acceptable.
    public static func validate(_ name: String) throws(FormatError) {
        let utf8 = Array(name.utf8)
        let shown = name.debugDescription
        guard !utf8.isEmpty else { throw .invalidInput("a file name is empty") }
        guard utf8.count <= maxLength else { throw .invalidInput("file name \(shown) is longer than \(maxLength) bytes") }
        // Bytes, not Characters: ".\u{301}x" is one Character that is not ".", yet its first byte
        // makes a hidden file, and " \u{301}" would hide a leading space the same way.
        guard utf8.first != UInt8(ascii: ".") else {
            throw .invalidInput("file name \(shown) starts with a dot (hidden files are not sent, and . and .. are folders)")
        }
        guard utf8.first != UInt8(ascii: " "), utf8.last != UInt8(ascii: " ") else { throw .invalidInput("file name \(shown) starts or ends with a space") }
        for scalar in name.unicodeScalars {
            switch scalar.value {
            case 0x2F, 0x5C: throw .invalidInput("file name \(shown) contains a path separator")
            case 0x00: throw .invalidInput("file name \(shown) contains a NUL character")
            default: if ControlCharacter.contains(scalar) { throw .invalidInput("file name \(shown) contains a control character") }
            }
        }
    }
}

/// C0 and C1 control characters and DEL, refused in file names and subjects.
public enum ControlCharacter {
    public static func contains(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

/// NHS number check (FORMAT.md §3.8).
public enum NHSNumber {
    /// True when `digits` is ten ASCII digits with a valid modulus-11 check digit.
    public static func isValid(_ digits: String) -> Bool {
        let values = digits.utf8.map { Int($0) - 0x30 }
        guard values.count == 10, values.allSatisfy({ (0...9).contains($0) }) else { return false }
        let sum = zip(values.prefix(9), stride(from: 10, through: 2, by: -1)).reduce(0) { $0 + $1.0 * $1.1 }
        var check = 11 - sum % 11
        if check == 11 { check = 0 }
        guard check != 10 else { return false }
        return check == values[9]
    }

    /// Digits only: spaces and hyphens as people write them (`999 000 0018`) are removed.
    public static func normalise(_ text: String) -> String {
        String(text.filter { $0 != " " && $0 != "-" })
    }
}
