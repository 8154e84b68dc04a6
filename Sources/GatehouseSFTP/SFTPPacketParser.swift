/// Splits a byte stream into SFTP packets, incrementally and with bounds, in the style of
/// swift-nio-ssh's packet parser: ``next()`` returns `nil` when more bytes are needed and throws
/// when the stream is malformed. After a throw the stream cannot be resynchronised.
public struct SFTPPacketParser: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    /// Largest packet accepted (length field excluded).
    public let maxPacketLength: Int

    /// A parser accepting packets of at most `maxPacketLength` bytes.
    public init(maxPacketLength: Int = SFTP.maxPacketLength) { self.maxPacketLength = maxPacketLength }

    /// Bytes received and not yet parsed.
    public var buffered: Int { buffer.count - start }

    /// Adds bytes from the stream.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        buffer.append(contentsOf: bytes)
    }

    /// Appends bytes read from a descriptor: a plain memory copy (the generic form above is not
    /// specialised across modules, and would go byte by byte).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 && start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        buffer.append(contentsOf: UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count))
    }

    /// The next complete packet, or nil if more bytes are needed.
    public mutating func next() throws(SFTPError) -> SFTPMessage? {
        guard buffered >= 4 else { return nil }
        let length = buffer[start..<(start + 4)].reduce(0) { $0 << 8 | Int($1) }
        // draft-02 §3: every packet has at least its type byte.
        guard length >= 1 else { throw .badLength("a packet of length 0") }
        guard length <= maxPacketLength else { throw .badLength("a packet of \(length) bytes (at most \(maxPacketLength))") }
        guard buffered >= 4 + length else { return nil }
        let body = buffer[(start + 4)..<(start + 4 + length)]
        start += 4 + length
        let message = try SFTPMessage.decode(body)
        // Keep memory flat: drop what has been consumed once it is most of the buffer.
        if start > 1 << 20 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return message
    }
}
