extension IdentityCard {
    /// The fields of a version 1 card, in the only order they may appear (FORMAT.md §5).
    enum Field: String, CaseIterable {
        case version, org, name
        case rootKey = "root-key"
        case signingKey = "signing-key"
        case encryptionKey = "encryption-key"
        case created
        case sshKey = "ssh-key"
        case mailbox, signature

        /// The fields a card may leave out; when present they stand, in this order, between
        /// `created` and `signature`.
        static let optional: [Field] = [.sshKey, .mailbox]
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
        // Mail systems turn LF into CRLF; the signed bytes are defined over LF line ends.
        let lines = text.replacing("\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        guard let begin = lines.firstIndex(where: { $0 == beginLine }) else {
            throw .malformed("identity card: no '\(beginLine)' line")
        }
        guard let end = lines[(begin + 1)...].firstIndex(where: { $0 == endLine }) else {
            throw .malformed("identity card: line \(begin + 1): '\(beginLine)' without a matching '\(endLine)'")
        }
        // A second card in the same text would make it unclear which one a person confirmed.
        if let again = lines[(begin + 1)...].firstIndex(where: { $0 == beginLine }) {
            throw .malformed("identity card: line \(again + 1): a second card; give one card at a time")
        }
        var values: [Field: Substring] = [:]
        var fields = Field.allCases.filter { !Field.optional.contains($0) }
        // The optional fields, when present, stand in order between `created` and `signature`.
        for field in Field.optional {
            let position = fields.firstIndex(of: .signature)!
            let index = begin + 1 + position
            if index < end, lines[index].hasPrefix("\(field.rawValue):") { fields.insert(field, at: position) }
        }
        for (offset, field) in fields.enumerated() {
            let index = begin + 1 + offset
            let lineNumber = index + 1
            guard index < end else {
                throw .malformed("identity card: line \(lineNumber): field '\(field.rawValue)' is missing")
            }
            let (key, value) = try split(lines[index], line: lineNumber)
            guard key == field.rawValue else {
                throw misplaced(key, expected: field, seen: Set(fields.prefix(offset)), line: lineNumber)
            }
            values[field] = value
        }
        let afterLast = begin + 1 + fields.count
        guard afterLast == end else {
            let lineNumber = afterLast + 1
            let key = lines[afterLast].split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            if Field(rawValue: key) != nil {
                throw .malformed("identity card: line \(lineNumber): field '\(key)' appears twice")
            }
            throw .malformed("identity card: line \(lineNumber): expected '\(endLine)' after 'signature'")
        }
        return try card(from: values, fields: fields, firstLine: begin + 2)
    }

    /// Splits `key: value`, refusing anything but one space after the colon and no trailing space.
    private static func split(_ line: Substring, line number: Int) throws(FormatError) -> (String, Substring) {
        guard let colon = line.firstIndex(of: ":") else {
            throw .malformed("identity card: line \(number): expected 'field: value'")
        }
        let key = String(line[..<colon])
        let rest = line[line.index(after: colon)...]
        guard rest.first == " ", let second = rest.dropFirst().first, second != " " else {
            throw .malformed("identity card: line \(number): \(key): expected one space after the colon, then a value")
        }
        guard let last = rest.last, last != " ", last != "\t" else {
            throw .malformed("identity card: line \(number): \(key): trailing white space")
        }
        return (key, rest.dropFirst())
    }

    private static func misplaced(_ key: String, expected: Field, seen: Set<Field>, line: Int) -> FormatError {
        guard let field = Field(rawValue: key) else {
            return .malformed("identity card: line \(line): unknown field '\(key)' (expected '\(expected.rawValue)')")
        }
        if seen.contains(field) { return .malformed("identity card: line \(line): field '\(key)' appears twice") }
        return .malformed("identity card: line \(line): field '\(key)' is out of order (expected '\(expected.rawValue)')")
    }
}
