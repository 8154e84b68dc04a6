import GatehouseFormat

/// Reads the strict subset of TOML that `gatehouse.toml` (and a pack's `.gatehouse.toml`) uses:
/// comments, `[table]` and `[table.sub]` headers, and `key = value` with a basic string, an
/// integer, a boolean or a one-line array of basic strings. Everything else is an error naming
/// the file and line.
package struct ConfigReader {
    /// A value and the line it came from.
    package struct Entry {
        package let value: Value
        package let line: Int
    }

    /// A value.
    package enum Value: Equatable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        /// `["a", "b"]`, on one line.
        case strings([String])
    }

    let file: String
    /// `table.key` → entry.
    package private(set) var entries: [String: Entry] = [:]
    /// Tables declared, with their lines.
    package private(set) var tables: [String: Int] = [:]

    package init(_ text: String, file: String) throws(KitError) {
        self.file = file
        var table = ""
        // Lines end at the byte "\n": "\r\n" is one Character, so a file saved with Windows line
        // ends was one line, and after a first comment line every setting in it was ignored.
        for (offset, raw) in text.splitBytes(UInt8(ascii: "\n")).enumerated() {
            let line = offset + 1
            let content = Self.stripComment(raw).trimmingCharacters(in: " \t\r")
            if content.isEmpty { continue }
            if content.hasPrefix("[") {
                guard content.hasSuffix("]"), !content.hasPrefix("[["), let name = Self.tableName(content) else {
                    throw error(line, "'\(content)' is not a table header like [delivery] or [partners.YOI123]")
                }
                guard tables[name] == nil else { throw error(line, "table [\(name)] appears twice (first at line \(tables[name]!))") }
                tables[name] = line
                table = name
                continue
            }
            guard let equals = content.firstIndex(of: "=") else {
                throw error(line, "expected 'key = value', found '\(content)'")
            }
            let key = content[..<equals].trimmingCharacters(in: " \t")
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                throw error(line, "'\(key)' is not a plain key (letters, digits, _ and -)")
            }
            let full = table.isEmpty ? key : "\(table).\(key)"
            guard entries[full] == nil else { throw error(line, "key '\(full)' is set twice (first at line \(entries[full]!.line))") }
            let valueText = content[content.index(after: equals)...].trimmingCharacters(in: " \t")
            entries[full] = Entry(value: try Self.value(valueText, key: full, line: line, file: file), line: line)
        }
    }

    package func error(_ line: Int, _ message: String) -> KitError {
        .invalidInput("\(file):\(line): \(message)", path: file)
    }

    private static func tableName(_ header: String) -> String? {
        let name = header.dropFirst().dropLast().trimmingCharacters(in: " \t")
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" } }) else {
            return nil
        }
        return name
    }

    /// Removes a `#` comment that is not inside a string. (Scalars, not Characters: a quote
    /// followed by a combining mark is one Character that is not `"`.)
    private static func stripComment(_ line: Substring) -> String {
        var inString = false
        var escaped = false
        var out = String.UnicodeScalarView()
        for c in line.unicodeScalars {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "#" {
                break
            }
            out.append(c)
        }
        return String(out)
    }

    private static func value(_ text: String, key: String, line: Int, file: String) throws(KitError) -> Value {
        let fail = { (why: String) in KitError.invalidInput("\(file):\(line): key '\(key)': \(why)", path: file) }
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        if let number = Int(text.replacingOccurrences(of: "_", with: "")), !text.hasPrefix("_"), !text.hasSuffix("_") { return .integer(number) }
        var rest = Substring(text).unicodeScalars
        if rest.first == "[" {
            rest.removeFirst()
            var items: [String] = []
            while true {
                rest = rest.drop { $0 == " " || $0 == "\t" }
                if rest.first == "]" && rest.count == 1 { return .strings(items) }
                let notAnArray = "'\(text)' is not a one-line array of quoted strings like [\"a\", \"b\"]"
                guard rest.first == "\"" else { throw fail(notAnArray) }
                items.append(try basicString(&rest, fail))
                rest = rest.drop { $0 == " " || $0 == "\t" }
                if rest.first == "," { rest.removeFirst() } else if rest.first != "]" { throw fail(notAnArray) }
            }
        }
        guard rest.first == "\"" else { throw fail("'\(text)' is not a quoted string, an integer, true or false") }
        let string = try basicString(&rest, fail)
        guard rest.isEmpty else { throw fail("'\(text)' has more after the closing quote") }
        return .string(string)
    }

    /// Reads a basic string (`"…"` with `\"`, `\\`, `\n`, `\t` and `\uXXXX` escapes) from the
    /// start of `rest`, leaving what follows its closing quote.
    private static func basicString(_ rest: inout Substring.UnicodeScalarView,
                                    _ fail: (String) -> KitError) throws(KitError) -> String {
        rest.removeFirst()
        var out = String.UnicodeScalarView()
        while let c = rest.popFirst() {
            if c == "\"" { return String(out) }
            guard c == "\\" else { out.append(c); continue }
            guard let escape = rest.popFirst() else { throw fail("the string ends with a lone backslash") }
            switch escape {
            case "\"": out.append("\"")
            case "\\": out.append("\\")
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "u":
                let digits = String(String.UnicodeScalarView(rest.prefix(4)))
                guard digits.unicodeScalars.count == 4, digits.unicodeScalars.allSatisfy(\.properties.isASCIIHexDigit),
                      let code = UInt32(digits, radix: 16), let scalar = Unicode.Scalar(code) else {
                    throw fail("\\u needs four hex digits naming a character")
                }
                rest.removeFirst(4)
                out.append(scalar)
            default: throw fail("unknown escape \\\(escape)")
            }
        }
        throw fail("the quoted string has no closing quote")
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> String { String(self).trimmingCharacters(in: set) }
}
