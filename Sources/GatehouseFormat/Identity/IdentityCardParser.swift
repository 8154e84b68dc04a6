extension IdentityCard {
    /// The fields of a version 1 card, in the only order they may appear (FORMAT.md §5).
    enum Field: String, CaseIterable {
        case version, org, name
        case rootKey = "root-key"
        case manifest, created, expires
        case signingKey = "signing-key"
        case encryptionKey = "encryption-key"
        case sshKey = "ssh-key"
        case mailbox
        case supersededKey = "superseded-key"
        case revokedKey = "revoked-key"
        case rootHistory = "root-history"
        case signature

        /// The field whose name is exactly `key`, byte for byte (`Field(rawValue:)` compares
        /// Strings, which also takes canonically equivalent spellings).
        static func named(_ key: some StringProtocol) -> Field? { allCases.first { $0.rawValue.sameBytes(key) } }

        /// How many times the field appears: at least `min`, at most `max`, on consecutive lines.
        var count: (min: Int, max: Int) {
            switch self {
            case .sshKey, .mailbox: (0, 1)
            case .supersededKey, .revokedKey, .rootHistory: (0, KeyManifest.maxHistory)
            default: (1, 1)
            }
        }
    }

    /// One field value and the line it stands on.
    struct Value {
        let text: Substring
        let line: Int
        var place: String { "identity card: line \(line)" }
    }

    /// Parses and verifies a card (FORMAT.md §5).
    ///
    /// CRLF line ends are turned into LF and text around the armour is ignored (a covering email).
    /// Between the armour lines the fields must be exactly those of version 1, in order, each once,
    /// with canonical values; the key ids must match the keys and the root signature must verify.
    /// Every error names the field and the line. Throws `malformed`, or `authenticationFailed`
    /// when everything is well formed but the root signature does not verify.
    public static func parse(_ text: String) throws(FormatError) -> IdentityCard {
        guard text.utf8.count <= maxTextLength else {
            throw .malformed("identity card: the text is larger than \(maxTextLength / 1024) KiB")
        }
        // Bytes, not Characters, throughout: "\r\n" is one Character, and so is ": " followed by a
        // combining mark (a name starting with U+0301), which would hide the space after a colon.
        // Mail systems turn LF into CRLF; the signed bytes are defined over LF line ends.
        var lines = text.splitBytes(UInt8(ascii: "\n"))
        for i in lines.indices.dropLast() where lines[i].utf8.last == UInt8(ascii: "\r") {
            lines[i] = Substring(lines[i].utf8.dropLast())
        }
        guard let begin = lines.firstIndex(where: { $0.sameBytes(beginLine) }) else {
            throw .malformed("identity card: no '\(beginLine)' line")
        }
        guard let end = lines[(begin + 1)...].firstIndex(where: { $0.sameBytes(endLine) }) else {
            throw .malformed("identity card: line \(begin + 1): '\(beginLine)' without a matching '\(endLine)'")
        }
        // A second card in the same text would make it unclear which one a person confirmed.
        if let again = lines[(begin + 1)...].firstIndex(where: { $0.sameBytes(beginLine) }) {
            throw .malformed("identity card: line \(again + 1): a second card; give one card at a time")
        }
        var values: [Field: [Value]] = [:]
        var index = begin + 1
        func key(at index: Int) -> String { String(lines[index].splitBytes(UInt8(ascii: ":"), maxSplits: 1)[0]) }
        for field in Field.allCases {
            var found = 0
            while index < end, found < field.count.max, key(at: index).sameBytes(field.rawValue) {
                let (_, value) = try split(lines[index], line: index + 1)
                values[field, default: []].append(Value(text: value, line: index + 1))
                found += 1
                index += 1
            }
            if found < field.count.min {
                guard index < end else {
                    throw .malformed("identity card: line \(index + 1): field '\(field.rawValue)' is missing")
                }
                throw misplaced(key(at: index), expected: field, seen: values, line: index + 1)
            }
        }
        guard index == end else {
            let found = key(at: index)
            if Field.named(found) != nil { throw misplaced(found, expected: nil, seen: values, line: index + 1) }
            throw .malformed("identity card: line \(index + 1): expected '\(endLine)' after 'signature'")
        }
        return try card(from: values)
    }

    /// Splits `key: value`, refusing anything but one space after the colon and no trailing space.
    private static func split(_ line: Substring, line number: Int) throws(FormatError) -> (String, Substring) {
        let bytes = line.utf8
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
            throw .malformed("identity card: line \(number): expected 'field: value'")
        }
        let key = String(Substring(bytes[..<colon]))
        let rest = bytes[bytes.index(after: colon)...]
        guard rest.first == UInt8(ascii: " "), let second = rest.dropFirst().first, second != UInt8(ascii: " ") else {
            throw .malformed("identity card: line \(number): \(key): expected one space after the colon, then a value")
        }
        guard let last = rest.last, last != UInt8(ascii: " "), last != UInt8(ascii: "\t") else {
            throw .malformed("identity card: line \(number): \(key): trailing white space")
        }
        return (key, Substring(rest.dropFirst()))
    }

    private static func misplaced(_ key: String, expected: Field?, seen: [Field: [Value]], line: Int) -> FormatError {
        let wanted = expected.map { " (expected '\($0.rawValue)')" } ?? ""
        guard let field = Field.named(key) else {
            return .malformed("identity card: line \(line): unknown field '\(key)'\(wanted)")
        }
        if seen[field] != nil, field.count.max == 1 { return .malformed("identity card: line \(line): field '\(key)' appears twice") }
        // A repeated field's extra line stands where the next field (at the latest `signature`) is expected.
        if field.count.max > 1, seen[field]?.count == field.count.max {
            return .malformed("identity card: line \(line): more than \(field.count.max) '\(key)' lines")
        }
        return .malformed("identity card: line \(line): field '\(key)' is out of order\(wanted)")
    }
}
