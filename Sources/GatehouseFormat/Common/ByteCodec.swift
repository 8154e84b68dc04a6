/// Appends big-endian integers and length-prefixed fields, as every Gatehouse format encodes them.
public struct ByteBuilder: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty builder.
    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Appends one byte.
    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    /// Appends a big-endian u16.
    public mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xff)] }
    /// Appends a big-endian u32.
    public mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    /// Appends a big-endian u64.
    public mutating func u64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }
    /// Appends raw bytes.
    public mutating func raw(_ v: [UInt8]) { bytes += v }
    /// Appends an ODS code as `u8 length || ASCII` (FORMAT.md §2).
    public mutating func ods(_ code: ODSCode) {
        let utf8 = Array(code.value.utf8)
        u8(UInt8(utf8.count))
        raw(utf8)
    }
    /// Appends `u16 length || UTF-8`.
    public mutating func string16(_ s: String) {
        let utf8 = Array(s.utf8)
        precondition(utf8.count <= Int(UInt16.max))
        u16(UInt16(utf8.count))
        raw(utf8)
    }
    /// Appends `u8 length || bytes`.
    public mutating func bytes8(_ v: [UInt8]) {
        precondition(v.count <= Int(UInt8.max))
        u8(UInt8(v.count))
        raw(v)
    }
}

/// Reads big-endian fields from a byte buffer, in the incremental style of swift-nio-ssh's
/// packet parser: every read returns `nil` when the buffer does not hold enough bytes yet
/// ("need more data"), and validating readers throw when the bytes are malformed.
public struct ByteCursor {
    /// The buffer being read.
    public let buffer: ArraySlice<UInt8>
    /// Index of the next unread byte.
    public private(set) var index: Int

    /// A cursor at the start of `buffer`.
    public init(_ buffer: ArraySlice<UInt8>) {
        self.buffer = buffer
        self.index = buffer.startIndex
    }

    /// A cursor at the start of `buffer`.
    public init(_ buffer: [UInt8]) { self.init(buffer[...]) }

    /// Bytes consumed so far.
    public var consumed: Int { index - buffer.startIndex }
    /// Bytes not yet read.
    public var remaining: Int { buffer.endIndex - index }

    /// Reads `count` raw bytes.
    public mutating func raw(_ count: Int) -> [UInt8]? {
        guard remaining >= count else { return nil }
        defer { index += count }
        return Array(buffer[index..<(index + count)])
    }

    /// Reads one byte.
    public mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { index += 1 }
        return buffer[index]
    }

    /// Reads a big-endian u16.
    public mutating func u16() -> UInt16? { integer(2).map { UInt16($0) } }
    /// Reads a big-endian u32.
    public mutating func u32() -> UInt32? { integer(4).map { UInt32($0) } }
    /// Reads a big-endian u64.
    public mutating func u64() -> UInt64? { integer(8) }

    private mutating func integer(_ width: Int) -> UInt64? {
        guard remaining >= width else { return nil }
        var value: UInt64 = 0
        for i in 0..<width { value = value << 8 | UInt64(buffer[index + i]) }
        index += width
        return value
    }

    /// Reads an ODS code (`u8 length || ASCII`); throws if the length or characters are invalid.
    public mutating func ods(_ field: String) throws(FormatError) -> ODSCode? {
        let start = index
        guard let length = u8() else { return nil }
        guard (ODSCode.minLength...ODSCode.maxLength).contains(Int(length)) else {
            throw .malformed("\(field): ODS code length \(length) is outside 3…9")
        }
        guard let utf8 = raw(Int(length)) else { index = start; return nil }
        do {
            return try ODSCode(String(decoding: utf8, as: UTF8.self))
        } catch {
            throw .malformed("\(field): \(error.detail)")
        }
    }

    /// Reads `u16 length || UTF-8` of at most `maxLength` bytes; throws for invalid UTF-8.
    public mutating func string16(_ field: String, maxLength: Int) throws(FormatError) -> String? {
        let start = index
        guard let length = u16() else { return nil }
        guard Int(length) <= maxLength else { throw .malformed("\(field): length \(length) exceeds \(maxLength)") }
        guard let utf8 = raw(Int(length)) else { index = start; return nil }
        guard let text = String(validating: utf8, as: UTF8.self) else { throw .malformed("\(field) is not valid UTF-8") }
        return text
    }

    /// Reads `u8 length || bytes`, the length being one of `allowedLengths`.
    public mutating func bytes8(_ field: String, allowedLengths: Set<Int>) throws(FormatError) -> [UInt8]? {
        let start = index
        guard let length = u8() else { return nil }
        guard allowedLengths.contains(Int(length)) else { throw .malformed("\(field): length \(length) is not allowed") }
        guard let bytes = raw(Int(length)) else { index = start; return nil }
        return bytes
    }
}
