/// Fields of an `application/x-www-form-urlencoded` body (or query string): `+` is a space,
/// `%XX` a byte; bytes that are not UTF-8 become U+FFFD. Repeated names keep every value.
struct FormFields: Sendable {
    private(set) var pairs: [(String, String)] = []

    init(_ bytes: some Sequence<UInt8>) {
        for field in Array(bytes).split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = field.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            pairs.append((name, value))
        }
    }

    /// The first value named `name`, or "".
    subscript(_ name: String) -> String { pairs.first { $0.0 == name }?.1 ?? "" }

    static func decode(_ bytes: ArraySlice<UInt8>) -> String {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(0x20)
            } else if b == UInt8(ascii: "%"), bytes.distance(from: i, to: bytes.endIndex) > 2,
                let hi = hex(bytes[i + 1]), let lo = hex(bytes[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 2
            } else {
                out.append(b)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x37
        case 0x61...0x66: b - 0x57
        default: nil
        }
    }
}
