import Foundation
public import GatehouseCrypto
public import GatehouseFormat

extension NetworkAuthority {
    /// The entries admitted or revoked since the last publication, in the order they were made.
    public func pending() throws(KitError) -> [DirectoryEntry] {
        try pending(pendingNames())
    }

    /// The names of the pending entry files, in the order they were made.
    func pendingNames() -> [String] {
        (FileOperations.listFolder(pendingPath) ?? []).filter { $0.hasByteSuffix(".entry") }.sorted()
    }

    /// The pending entries in the files `names`.
    func pending(_ names: [String]) throws(KitError) -> [DirectoryEntry] {
        var entries: [DirectoryEntry] = []
        for name in names {
            let path = pendingPath + "/" + name
            guard let bytes = try FileOperations.read(at: path, limit: DirectoryEntry.maxLength) else { continue }
            do { entries.append(try DirectoryEntry.parse(bytes)) } catch {
                throw .io("\(path): \(error.detail)", path: path)
            }
        }
        return entries
    }

    /// The state of the directory once the pending entries are published.
    public func plannedState() throws(KitError) -> (
        published: DirectoryMirror, pending: [DirectoryEntry], state: DirectoryState
    ) {
        let published = try published()
        let pending = try pending()
        var state: DirectoryState
        do { state = try DirectoryState(entries: published.log.entries) } catch {
            throw .io("the published log: \(error.detail)")
        }
        for (offset, entry) in pending.enumerated() { state.apply(entry, at: published.log.size + UInt64(offset)) }
        return (published, pending, state)
    }

    /// Stages an entry for the next publication. Entries are files named by a sequence number,
    /// written whole (temporary file, fsync, rename), so a crash never leaves half an entry.
    public func stage(_ entry: DirectoryEntry) throws(KitError) {
        let names = (FileOperations.listFolder(pendingPath) ?? []).filter { $0.hasByteSuffix(".entry") }
        let next = (names.compactMap { Int($0.prefix(8)) }.max() ?? 0) + 1
        let number = String(next)
        let name = String(repeating: "0", count: max(0, 8 - number.utf8.count)) + number + "-\(entry.org.value).entry"
        try FileOperations.makeDirectory(pendingPath, mode: 0o700)
        try FileOperations.createExclusively(at: pendingPath + "/" + name, contents: entry.bytes, mode: 0o600)
    }

    /// What a publication did.
    public struct Publication: Sendable {
        /// The log's size before and after.
        public let from: UInt64, to: UInt64
        /// The signed checkpoint.
        public let checkpoint: SignedNote
        /// How many tile files were written (to each folder).
        public let files: Int
    }

    /// Appends the pending entries to the log, writes the tiles that changed and then a new signed
    /// checkpoint into `HOME/network/log`, and the same into each of `mirrors` (folders a relay
    /// serves), then removes the pending entries.
    ///
    /// A crash at any point is safe to repeat: tiles past the old checkpoint are unreferenced
    /// until the checkpoint is replaced, and a pending entry already in the log is not appended
    /// twice.
    public func publish(
        key: borrowing SigningSecretKey, now: UInt64 = KeyStore.now(), mirrors: [String] = []
    ) throws(KitError) -> Publication {
        let verifier = try card().verifier
        let published = try published()
        var log = published.log
        let held = Set(log.entries)
        let names = pendingNames()
        for entry in try pending(names) where !held.contains(entry.bytes) { log.append(entry) }
        let checkpoint: SignedNote
        do { checkpoint = try log.checkpoint(verifier: verifier, key: key, time: now) } catch {
            throw .invalidInput(error.detail)
        }
        let files = try write(log, checkpoint: checkpoint, verifier: verifier, mirrors: mirrors, published: names)
        return Publication(from: published.log.size, to: log.size, checkpoint: checkpoint, files: files)
    }

    /// Writes the tiles `log` changed and then `checkpoint` into `network/log` and each of
    /// `mirrors`, then removes the pending entries; returns the tile files written per folder.
    @discardableResult
    func write(
        _ log: DirectoryLog, checkpoint: SignedNote, verifier: NoteVerifierKey, mirrors: [String],
        published names: [String]
    ) throws(KitError) -> Int {
        var files = 0
        for target in [self.log] + mirrors.map(TileFolder.init(path:)) {
            let since = try Self.size(of: target, verifier: verifier, within: log)
            let tiles = log.tiles(since: since)
            for (path, bytes) in tiles { try target.write(path, bytes) }
            try target.writeCheckpoint(checkpoint.bytes)
            files = max(files, tiles.count)
        }
        // Only the entries read before the log was made: one staged since waits for the next time.
        for name in names where unlink(pendingPath + "/" + name) != 0 && errno != ENOENT {
            throw FileOperations.ioError("could not remove the published entry", pendingPath + "/" + name)
        }
        if !names.isEmpty { try FileOperations.syncDirectory(of: pendingPath + "/x") }
        return files
    }

    /// The size of the log `folder` already serves, when its checkpoint is ours and its tree a
    /// prefix of `log`; 0 (rewrite everything) otherwise.
    static func size(
        of folder: TileFolder, verifier: NoteVerifierKey, within log: DirectoryLog
    ) throws(KitError) -> UInt64 {
        guard let bytes = try folder.readCheckpoint(), let (body, _) = try? Checkpoint.open(bytes, verifier: verifier),
            body.size <= log.size, log.tree.root(size: body.size) == body.root
        else { return 0 }
        return body.size
    }
}
