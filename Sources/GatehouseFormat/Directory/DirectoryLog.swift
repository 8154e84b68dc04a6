public import GatehouseCrypto

/// The directory log as the network authority holds it (DIRECTORY.md §5): the entries, in order,
/// and their Merkle tree. Appends only; produces the tiles and checkpoints to publish. No I/O.
public struct DirectoryLog: Sendable {
    /// Every entry's exact bytes, in log order.
    public private(set) var entries: [[UInt8]] = []
    /// The Merkle tree over the entries.
    public private(set) var tree = MerkleTree()

    /// An empty log.
    public init() {}

    /// A log holding `entries`, each of which must parse as a ``DirectoryEntry``.
    public init(entries: [[UInt8]]) throws(FormatError) {
        for (index, entry) in entries.enumerated() {
            do { _ = try DirectoryEntry.parse(entry) } catch {
                throw .malformed("directory log entry \(index): \(error.detail)")
            }
            append(bytes: entry)
        }
    }

    /// A log of entries that were parsed when they were first accepted (a gateway's own saved
    /// copy): only hashed now, so reloading 100,000 entries costs hashing, not 100,000 card
    /// verifications. The tree's root must still match a signed checkpoint before it is used.
    public init(parsedBefore entries: [[UInt8]]) {
        for entry in entries { append(bytes: entry) }
    }

    /// The number of entries.
    public var size: UInt64 { tree.size }

    /// Appends an entry.
    public mutating func append(_ entry: DirectoryEntry) { append(bytes: entry.bytes) }

    private mutating func append(bytes: [UInt8]) {
        entries.append(bytes)
        tree.append(entry: bytes)
    }

    /// A checkpoint of the whole log, signed by the network key.
    public func checkpoint(
        verifier: NoteVerifierKey, key: borrowing SigningSecretKey, time: UInt64
    ) throws(FormatError) -> SignedNote {
        let body = try Checkpoint(origin: verifier.name, size: size, root: tree.root, time: time)
        return try SignedNote.sign(body.text, verifier: verifier, key: key)
    }

    /// The checkpoint of a root rotation (DIRECTORY.md §4.1): it names `next` as the key that
    /// signs from now on, and is signed by the old key (which vouches for it) and by the new one.
    public func rotationCheckpoint(
        old: NoteVerifierKey, oldKey: borrowing SigningSecretKey, next: NoteVerifierKey,
        nextKey: borrowing SigningSecretKey, time: UInt64
    ) throws(FormatError) -> SignedNote {
        let body = try Checkpoint(origin: old.name, size: size, root: tree.root, time: time, nextKey: next)
        let signed = try SignedNote.sign(body.text, verifier: old, key: oldKey)
        return signed.adding(try SignedNote.sign(body.text, verifier: next, key: nextKey).signatures[0])
    }

    /// The tiles and entry bundles that change when the log grows from `previousSize` to its
    /// current size: every tile holding a position at or after the old end, at every level, each
    /// with its contents. A publisher writes these and leaves every other tile as it was.
    public func tiles(since previousSize: UInt64) -> [(path: TilePath, bytes: [UInt8])] {
        var out: [(path: TilePath, bytes: [UInt8])] = []
        for tile in TilePath.covering(kind: .entries, hashes: previousSize..<size) {
            let start = Int(tile.index) * TilePath.width
            out.append((tile, try! TileData.bundle(entries[start..<(start + tile.count)])))
        }
        var level = 0
        while 8 * level < 64, size >> UInt64(8 * level) > 0 {
            let shift = UInt64(8 * level)
            // A tile position at this level covers 256^level leaves; the first that changed is the
            // one holding the old end (it was partial, or did not exist).
            let first = previousSize >> shift
            for tile in TilePath.covering(kind: .hashes(level: level), hashes: first..<(size >> shift)) {
                out.append((tile, TileData.hashes(tile, from: tree)))
            }
            level += 1
        }
        return out
    }
}
