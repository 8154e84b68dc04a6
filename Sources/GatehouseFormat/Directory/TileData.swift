public import GatehouseCrypto

/// The bytes of hash tiles and entry bundles (DIRECTORY.md §5), made from a tree and checked
/// against one.
public enum TileData {
    /// Longest entry an entry bundle can carry: its length is a big-endian uint16.
    public static let maxEntryLength = Int(UInt16.max)

    /// The hashes of `tile` taken from `tree`: positions `index·256 ..< index·256 + count` of
    /// tree level 8·L, concatenated. The tree must be large enough to hold them.
    public static func hashes(_ tile: TilePath, from tree: MerkleTree) -> [UInt8] {
        guard case .hashes(let level) = tile.kind else { preconditionFailure("an entry bundle is not a hash tile") }
        let row = tree.levels[8 * level]
        let start = Int(tile.index) * TilePath.width
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tile.count * MerkleHash.length)
        for hash in row[start..<(start + tile.count)] { bytes += hash.bytes }
        return bytes
    }

    /// An entry bundle: each entry prefixed by its length, a big-endian uint16.
    public static func bundle(_ entries: some Sequence<[UInt8]>) throws(FormatError) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries {
            guard entry.count <= maxEntryLength else {
                throw .invalidInput("an entry of \(entry.count) bytes does not fit an entry bundle")
            }
            bytes += [UInt8(entry.count >> 8), UInt8(entry.count & 0xFF)] + entry
        }
        return bytes
    }

    /// Splits an entry bundle that must hold exactly `count` entries; trailing bytes, a length
    /// running past the end and any other count are `malformed`.
    public static func entries(inBundle bytes: [UInt8], count: Int) throws(FormatError) -> [[UInt8]] {
        var entries: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            guard entries.count < count, offset + 2 <= bytes.count else {
                throw .malformed("entry bundle: more than \(count) entries, or a truncated length")
            }
            let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            offset += 2
            guard offset + length <= bytes.count else {
                throw .malformed("entry bundle: entry \(entries.count) runs past the end")
            }
            entries.append(Array(bytes[offset..<(offset + length)]))
            offset += length
        }
        guard entries.count == count else {
            throw .malformed("entry bundle: \(entries.count) entries where \(count) were expected")
        }
        return entries
    }

    /// Splits a hash tile that must hold exactly `tile.count` hashes.
    public static func hashes(inTile bytes: [UInt8], tile: TilePath) throws(FormatError) -> [SHA256Digest] {
        guard bytes.count == tile.count * MerkleHash.length else {
            throw .malformed("\(tile): \(bytes.count) bytes where \(tile.count) hashes were expected")
        }
        return stride(from: 0, to: bytes.count, by: MerkleHash.length).map {
            SHA256Digest(bytes: Array(bytes[$0..<($0 + MerkleHash.length)]))!
        }
    }
}
