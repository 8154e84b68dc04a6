/// File-name rules for names carried in a manifest (FORMAT.md §3.7). Both the sealer and the
/// opener enforce them, so a manifest name can never escape the output folder, and two names in
/// one bundle can never look alike to the person who opens it.
public enum FileNameRule {
    /// Longest name, in UTF-8 bytes.
    public static let maxLength = 255

    /// Throws `invalidInput` with the reason when `name` is not acceptable on its own.
    public static func validate(_ name: String) throws(FormatError) {
        let utf8 = Array(name.utf8)
        let shown = ReadableText.shown(name)
        guard !utf8.isEmpty else { throw .invalidInput("a file name is empty") }
        guard utf8.count <= maxLength else { throw .invalidInput("file name \(shown) is longer than \(maxLength) bytes") }
        // Bytes, not Characters: ".\u{301}x" is one Character that is not ".", yet its first byte
        // makes a hidden file, and " \u{301}" would hide a leading space the same way.
        guard utf8.first != UInt8(ascii: ".") else {
            throw .invalidInput("file name \(shown) starts with a dot (hidden files are not sent, and . and .. are folders)")
        }
        guard utf8.first != UInt8(ascii: " "), utf8.last != UInt8(ascii: " ") else {
            throw .invalidInput("file name \(shown) starts or ends with a space")
        }
        guard !utf8.contains(UInt8(ascii: "/")), !utf8.contains(UInt8(ascii: "\\")) else {
            throw .invalidInput("file name \(shown) contains a path separator")
        }
        guard !utf8.contains(0) else { throw .invalidInput("file name \(shown) contains a NUL character") }
        try ReadableText.check(name, "file name")
    }

    /// The bytes two names are compared by for uniqueness: `NFC(toCasefold(name))`.
    public static func caseFoldKey(_ name: String) -> [UInt8] { UnicodeText.caseFoldKey(name) }

    /// Throws `invalidInput` when two of `names` are equal after Unicode case folding (`Report.pdf`
    /// and `report.pdf`, `STRASSE.txt` and `straße.txt`): on a case-insensitive file system one
    /// would replace the other, and on any screen they pass for the same record.
    public static func checkDistinct(_ names: some Sequence<String>) throws(FormatError) {
        var seen: [[UInt8]: String] = [:]
        for name in names {
            if let earlier = seen.updateValue(name, forKey: caseFoldKey(name)) {
                let which = Array(earlier.utf8) == Array(name.utf8)
                    ? "two files are named \(ReadableText.shown(name))"
                    : "file names \(ReadableText.shown(earlier)) and \(ReadableText.shown(name)) differ only in case"
                throw .invalidInput("\(which); names in a bundle must be unique, ignoring case (Unicode case folding)")
            }
        }
    }
}

/// Text that people read in a bundle or on a card: file names, the subject and the
/// organisation's name (FORMAT.md §3.7). It is in Normalization Form C, and holds no character
/// that is invisible or can hide, reorder or break the text a person sees.
public enum ReadableText {
    /// Why `scalar` may not appear in readable text, or nil when it may.
    public static func refusal(of scalar: Unicode.Scalar) -> String? {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .control: return "a control character"
        // Bidirectional overrides and isolates, zero-width spaces and joiners, the soft hyphen.
        case .format: return "an invisible format character"
        case .lineSeparator, .paragraphSeparator: return "a line or paragraph separator"
        // What a later Unicode version assigns may normalize or fold differently there.
        case .unassigned: return "a code point that is not assigned in Unicode 16.0"
        case .surrogate: return "a surrogate code point"
        default: break
        }
        // Rendered as nothing, like the format characters: Hangul fillers, variation selectors,
        // the combining grapheme joiner.
        if properties.isDefaultIgnorableCodePoint { return "an invisible (default-ignorable) character" }
        return nil
    }

    /// Throws `invalidInput` naming `what` (`file name`, `the subject`) when `text` holds a
    /// refused character or is not NFC. With `quoting` false the text is left out of the
    /// message (a subject may name a patient).
    public static func check(_ text: some StringProtocol, _ what: String, quoting: Bool = true) throws(FormatError) {
        // Printable ASCII, most names and subjects: nothing to refuse, and already NFC.
        if text.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) { return }
        let quoted = quoting ? " \(shown(text))" : ""
        for scalar in text.unicodeScalars {
            if let why = refusal(of: scalar) { throw .invalidInput("\(what)\(quoted) contains \(code(scalar)), \(why)") }
        }
        guard UnicodeText.isNFC(text) else {
            throw .invalidInput("\(what)\(quoted) is not in Unicode Normalization Form C (NFC)")
        }
    }

    /// `text` in double quotes for a message, each refused character (and `"` and `\`) escaped
    /// as in Swift source, so that a message never carries a bidirectional override, a line
    /// break or an invisible character itself.
    public static func shown(_ text: some StringProtocol) -> String {
        var out = String.UnicodeScalarView()
        out.append("\"")
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar == "\\" {
                out.append("\\")
                out.append(scalar)
            } else if refusal(of: scalar) != nil {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        out.append("\"")
        return String(out)
    }

    /// `U+202E RIGHT-TO-LEFT OVERRIDE`.
    public static func code(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.utf8.count)) + hex
        return scalar.properties.name.map { "\(code) \($0)" } ?? code
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

    /// Why `text` is not a valid NHS number, for a message: `"9990000019" is not a valid NHS
    /// number: its check digit should be 8, not 9`.
    public static func invalidMessage(_ text: String) -> String {
        let values = text.utf8.map { Int($0) - 0x30 }
        let shown = ReadableText.shown(text)
        guard values.count == 10, values.allSatisfy({ (0...9).contains($0) }) else {
            return "\(shown) is not a valid NHS number: it must be ten digits (spaces allowed: 999 000 0018)"
        }
        let sum = zip(values.prefix(9), stride(from: 10, through: 2, by: -1)).reduce(0) { $0 + $1.0 * $1.1 }
        let check = (11 - sum % 11) % 11
        guard check != 10 else {
            return "\(shown) is not a valid NHS number: no check digit fits its first nine digits"
        }
        return "\(shown) is not a valid NHS number: its check digit (the last) should be \(check), not \(values[9])"
    }

    /// Digits only: spaces and hyphens as people write them (`999 000 0018`) are removed.
    public static func normalise(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != " " && $0 != "-" }))
    }

    /// `9990000018` as people read it: `999 000 0018` (anything not ten scalars unchanged).
    public static func spaced(_ number: String) -> String {
        let digits = Array(number.unicodeScalars)
        guard digits.count == 10 else { return number }
        return [digits[0..<3], digits[3..<6], digits[6..<10]].map { String(String.UnicodeScalarView($0)) }
            .joined(separator: " ")
    }
}
