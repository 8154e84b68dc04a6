/// A JSON document as `gatehouse … --json` prints it, written without Foundation's encoder.
///
/// The text is byte for byte what `JSONEncoder` writes with `.prettyPrinted`, `.sortedKeys` and
/// `.withoutEscapingSlashes` (two-space indent, `"key" : value`, keys in byte order, absent
/// optionals left out), so every command's JSON looks alike; a test holds the two together.
/// Used where a command prints thousands of values: `status --json` spent most of its time in
/// the generic encoder.
public indirect enum JSONText: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case array([JSONText])
    /// Keys with their values; written in sorted order whatever the order given.
    case object([String: JSONText])

    /// An object from pairs, leaving out those whose value is nil (as `Encodable` leaves out
    /// absent optionals).
    public static func fields(_ pairs: KeyValuePairs<String, JSONText?>) -> JSONText {
        var members: [String: JSONText] = [:]
        members.reserveCapacity(pairs.count)
        for (key, value) in pairs { if let value { members[key] = value } }
        return .object(members)
    }

    public static func integer(_ value: Int) -> JSONText { .integer(Int64(value)) }

    /// The document as text.
    public var text: String {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(into: &out, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(into out: inout [UInt8], indent: Int) {
        switch self {
        case .string(let value):
            Self.writeString(value, into: &out)
        case .integer(let value):
            out.append(contentsOf: String(value).utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            out.append(UInt8(ascii: "\n"))
            for (n, item) in items.enumerated() {
                if n > 0 { out.append(contentsOf: ",\n".utf8) }
                Self.pad(&out, indent + 2)
                item.write(into: &out, indent: indent + 2)
            }
            out.append(UInt8(ascii: "\n"))
            Self.pad(&out, indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            out.append(UInt8(ascii: "\n"))
            for (n, key) in members.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if n > 0 { out.append(contentsOf: ",\n".utf8) }
                Self.pad(&out, indent + 2)
                Self.writeString(key, into: &out)
                out.append(contentsOf: " : ".utf8)
                members[key]!.write(into: &out, indent: indent + 2)
            }
            out.append(UInt8(ascii: "\n"))
            Self.pad(&out, indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func pad(_ out: inout [UInt8], _ count: Int) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: count))
    }

    private static func writeString(_ value: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: value.utf8)  // nothing to escape: most strings
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: #"\t"#.utf8)
            case 0x08: out.append(contentsOf: #"\b"#.utf8)
            case 0x0C: out.append(contentsOf: #"\f"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
