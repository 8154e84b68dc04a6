public import GatehouseFormat

/// A folder laid out as tlog-tiles serves a log (DIRECTORY.md §5): `checkpoint` and
/// `tile/…`. The authority's copy, the relay's read-only copy and a gateway's saved copy all
/// have this shape. Only canonical tile paths are ever built, so no name leaves the folder.
public struct TileFolder: Sendable {
    /// The folder.
    public let path: String
    /// Largest file read: a full entry bundle of 256 entries of the largest size.
    public static let maxFileLength = TilePath.width * (2 + TileData.maxEntryLength)

    /// The folder at `path`.
    public init(path: String) { self.path = path }

    /// `FOLDER/checkpoint`.
    public var checkpointPath: String { path + "/checkpoint" }

    /// The file of `tile`.
    public func filePath(_ tile: TilePath) -> String { path + "/" + tile.description }

    /// The bytes of `tile`; `io` when it is missing or unreadable, so a missing tile is never
    /// taken for an empty one.
    public func read(_ tile: TilePath) throws(FormatError) -> [UInt8] {
        let bytes: [UInt8]?
        do { bytes = try FileOperations.read(at: filePath(tile), limit: Self.maxFileLength) } catch {
            throw .io(error.message)
        }
        guard let bytes else { throw .io("\(filePath(tile)) is missing") }
        return bytes
    }

    /// `FOLDER/witness/HEXID`: the checkpoint as a witness cosigned it (DIRECTORY.md §10).
    public func witnessPath(_ witness: WitnessKey) -> String { path + "/witness/" + witness.keyIDHex }

    /// The checkpoint `witness` cosigned, nil when it cosigned none here.
    public func readWitness(_ witness: WitnessKey) throws(KitError) -> [UInt8]? {
        try FileOperations.read(at: witnessPath(witness), limit: SignedNote.maxLength)
    }

    /// Writes the checkpoint `witness` cosigned.
    public func writeWitness(_ witness: WitnessKey, _ bytes: [UInt8]) throws(KitError) {
        try FileOperations.makeDirectory(path, mode: 0o755)
        try FileOperations.makeDirectory(path + "/witness", mode: 0o755)
        try FileOperations.replaceAtomically(at: witnessPath(witness), contents: bytes, mode: 0o644)
    }

    /// The signed checkpoint, nil when there is none yet.
    public func readCheckpoint() throws(KitError) -> [UInt8]? {
        try FileOperations.read(at: checkpointPath, limit: SignedNote.maxLength)
    }

    /// The log saved here, checked against its signed checkpoint: the signature, then the root
    /// of the entries' tree (hashing only: the entries were parsed when they were first taken).
    /// An empty mirror when there is no checkpoint yet.
    public func mirror(
        verifier: NoteVerifierKey, rotatedKeys: [NoteVerifierKey] = []
    ) throws(KitError) -> DirectoryMirror {
        guard let checkpoint = try readCheckpoint() else { return DirectoryMirror(verifier: verifier) }
        do {
            let size = try Checkpoint.open(checkpoint, verifiers: [verifier] + rotatedKeys).0.size
            var entries: [[UInt8]] = []
            for tile in TilePath.covering(kind: .entries, hashes: 0..<size) {
                entries += try TileData.entries(inBundle: try read(tile), count: tile.count)
            }
            return try DirectoryMirror(
                verifier: verifier, entries: entries, checkpoint: checkpoint, reparse: false,
                rotatedKeys: rotatedKeys)
        } catch {
            throw .invalidCard("the directory saved in \(path) does not match its checkpoint: \(error)", path: path)
        }
    }

    /// Writes `tile` atomically (temporary file, fsync, rename), creating its folders.
    public func write(_ tile: TilePath, _ bytes: [UInt8]) throws(KitError) {
        let file = filePath(tile)
        var folder = path
        try FileOperations.makeDirectory(folder, mode: 0o755)
        for part in tile.description.split(separator: "/").dropLast() {
            folder += "/" + part
            try FileOperations.makeDirectory(folder, mode: 0o755)
        }
        try FileOperations.replaceAtomically(at: file, contents: bytes, mode: 0o644)
    }

    /// Writes the checkpoint atomically. Written after the tiles it names, so a reader never
    /// sees a checkpoint whose tiles are not there yet.
    public func writeCheckpoint(_ bytes: [UInt8]) throws(KitError) {
        try FileOperations.makeDirectory(path, mode: 0o755)
        try FileOperations.replaceAtomically(at: checkpointPath, contents: bytes, mode: 0o644)
    }
}
