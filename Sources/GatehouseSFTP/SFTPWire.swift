/// Writes the SSH wire encoding (RFC 4251 §5): big-endian integers, strings as uint32 length
/// followed by the bytes.
struct SFTPWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
    /// RFC 4251 §5 `string`: uint32 length, then the bytes.
    mutating func string(_ v: [UInt8]) { u32(UInt32(v.count)); bytes += v }
    mutating func text(_ v: String) { string(Array(v.utf8)) }
}

/// Reads the SSH wire encoding from one complete packet body; running out of bytes is
/// malformed (the framing already guaranteed the whole packet is here).
struct SFTPReader {
    let body: ArraySlice<UInt8>
    var index: Int

    init(_ body: ArraySlice<UInt8>) {
        self.body = body
        index = body.startIndex
    }

    var remaining: Int { body.endIndex - index }

    mutating func u8(_ what: String) throws(SFTPError) -> UInt8 {
        guard remaining >= 1 else { throw .malformed("packet ends before \(what)") }
        defer { index += 1 }
        return body[index]
    }

    mutating func u32(_ what: String) throws(SFTPError) -> UInt32 {
        guard remaining >= 4 else { throw .malformed("packet ends before \(what)") }
        defer { index += 4 }
        return body[index..<(index + 4)].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ what: String) throws(SFTPError) -> UInt64 {
        guard remaining >= 8 else { throw .malformed("packet ends before \(what)") }
        defer { index += 8 }
        return body[index..<(index + 8)].reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func string(_ what: String) throws(SFTPError) -> [UInt8] {
        let length = Int(try u32("the length of \(what)"))
        guard length <= remaining else { throw .malformed("\(what) claims \(length) bytes; \(remaining) remain") }
        defer { index += length }
        return Array(body[index..<(index + length)])
    }

    /// A string that must be UTF-8 (paths, extension names).
    mutating func text(_ what: String) throws(SFTPError) -> String {
        let bytes = try string(what)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed("\(what) is not UTF-8") }
        return text
    }

    mutating func rest() -> [UInt8] {
        defer { index = body.endIndex }
        return Array(body[index...])
    }

    func finish(_ what: String) throws(SFTPError) {
        guard remaining == 0 else { throw .malformed("\(remaining) bytes after the end of \(what)") }
    }
}
