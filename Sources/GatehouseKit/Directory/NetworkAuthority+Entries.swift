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
        /// What each configured witness answered (DIRECTORY.md §10.1).
        public var witnesses: [WitnessOutcome] = []
    }

    /// Appends the pending entries to the log, writes the tiles that changed into
    /// `HOME/network/log` and each of `mirrors` (folders a relay serves), asks the configured
    /// witnesses to cosign the new checkpoint through `post`, writes their cosigned copies and
    /// then the new signed checkpoint, and removes the pending entries.
    ///
    /// A crash at any point is safe to repeat: tiles past the old checkpoint are unreferenced
    /// until the checkpoint is replaced, and a pending entry already in the log is not appended
    /// twice. A witness that refuses or cannot be reached does not stop the publication (its
    /// outcome says why); gateways that require it keep the checkpoint they trusted.
    public func publish(
        key: borrowing SigningSecretKey, now: UInt64 = KeyStore.now(), mirrors: [String] = [],
        post: WitnessPost? = nil
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
        let (files, witnesses) = try write(
            log, checkpoint: checkpoint, verifier: verifier, mirrors: mirrors, published: names,
            previous: published.log.size, post: post)
        return Publication(
            from: published.log.size, to: log.size, checkpoint: checkpoint, files: files, witnesses: witnesses)
    }

    /// Writes the tiles `log` changed into `network/log` and each of `mirrors`, asks the
    /// witnesses for cosignatures (when `post` is given), writes the cosigned copies and then
    /// `checkpoint` into each folder, then removes the pending entries; returns the tile files
    /// written per folder and the witnesses' outcomes.
    @discardableResult
    func write(
        _ log: DirectoryLog, checkpoint: SignedNote, verifier: NoteVerifierKey, mirrors: [String],
        published names: [String], previous: UInt64, post: WitnessPost?
    ) throws(KitError) -> (files: Int, witnesses: [WitnessOutcome]) {
        var files = 0
        let targets = [self.log] + mirrors.map(TileFolder.init(path:))
        for target in targets {
            let since = try Self.size(of: target, verifier: verifier, within: log)
            let tiles = log.tiles(since: since)
            for (path, bytes) in tiles { try target.write(path, bytes) }
            files = max(files, tiles.count)
        }
        // Cosigned copies before the checkpoint: a gateway that requires witnesses then finds
        // them as soon as it sees the checkpoint, instead of refusing it until the next sync.
        var witnesses: [WitnessOutcome] = []
        if let post { witnesses = try requestCosignatures(of: checkpoint, log: log, previous: previous, post: post) }
        for target in targets {
            for case .cosigned(let witness, let cosigned) in witnesses {
                try target.writeWitness(witness.key, cosigned.bytes)
            }
            try target.writeCheckpoint(checkpoint.bytes)
        }
        // Only the entries read before the log was made: one staged since waits for the next time.
        for name in names where unlink(pendingPath + "/" + name) != 0 && errno != ENOENT {
            throw FileOperations.ioError("could not remove the published entry", pendingPath + "/" + name)
        }
        if !names.isEmpty { try FileOperations.syncDirectory(of: pendingPath + "/x") }
        return (files, witnesses)
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
