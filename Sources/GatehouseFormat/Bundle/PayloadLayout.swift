import GatehouseCrypto

/// Sizes and framing of the payload section and the plaintext stream (FORMAT.md §3.4, §3.5).
public enum PayloadLayout {
    /// Plaintext bytes in every payload chunk but the last.
    public static let chunkSize = 65_536
    /// Ciphertext length of a full chunk.
    public static let fullChunkCiphertext = chunkSize + SecretStream.overhead
    /// Bit 31 of a frame marks the final chunk.
    public static let finalFlag: UInt32 = 0x8000_0000
    /// Most chunks in one payload (2^24 × 64 KiB = 1 TiB).
    public static let maxChunks = 1 << 24
    /// Raw bytes in every DEFLATE block but a file's last.
    public static let blockSize = 1 << 20
    /// Bytes of a block header: method, raw length, stored length.
    public static let blockHeaderLength = 9
    /// Most files in one bundle.
    public static let maxFiles = 4096
    /// Largest file, and largest total plaintext.
    public static let maxTotalSize: UInt64 = 1 << 40
    /// Largest manifest.
    public static let maxManifestLength = 2 << 20
}

/// How a block of file data is stored (FORMAT.md §3.5).
public enum BlockMethod: UInt8, Sendable {
    /// The raw bytes.
    case stored = 0
    /// One raw DEFLATE stream.
    case deflate = 1
}

/// One entry of the file table at the start of the plaintext stream.
public struct FileTableEntry: Hashable, Sendable {
    /// The file's name as published (FORMAT.md §3.7).
    public let name: String
    /// The file's size in bytes.
    public let size: UInt64

    /// An entry.
    public init(name: String, size: UInt64) {
        self.name = name
        self.size = size
    }
}

/// The file table: names and sizes, which bound everything that follows in the stream.
public enum FileTable {
    /// The canonical encoding.
    public static func encode(_ entries: [FileTableEntry]) -> [UInt8] {
        var b = ByteBuilder(capacity: 4 + entries.count * 40)
        b.u32(UInt32(entries.count))
        for entry in entries {
            b.string16(entry.name)
            b.u64(entry.size)
        }
        return b.bytes
    }

    /// Parses a complete file table from the start of `bytes`; nil if more bytes are needed.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(FormatError) -> (entries: [FileTableEntry], length: Int)? {
        var c = ByteCursor(bytes)
        guard let count = c.u32() else { return nil }
        guard (1...UInt32(PayloadLayout.maxFiles)).contains(count) else {
            throw .malformed("file table lists \(count) files; a bundle holds 1 to \(PayloadLayout.maxFiles)")
        }
        var entries: [FileTableEntry] = []
        var total: UInt64 = 0
        for index in 0..<Int(count) {
            guard let name = try c.string16("file \(index + 1) name", maxLength: FileNameRule.maxLength) else { return nil }
            guard let size = c.u64() else { return nil }
            guard size <= PayloadLayout.maxTotalSize - total else {
                throw .malformed("file table sizes exceed the \(PayloadLayout.maxTotalSize)-byte limit")
            }
            total += size
            entries.append(FileTableEntry(name: name, size: size))
        }
        // The names are judged once the whole table is here: the stream parser calls this again
        // as each chunk arrives, and normalizing a megabyte of names each time would add up.
        do {
            for entry in entries { try FileNameRule.validate(entry.name) }
            try FileNameRule.checkDistinct(entries.map(\.name))
        } catch {
            throw .malformed("file table: \(error.detail)")
        }
        return (entries, c.consumed)
    }
}
