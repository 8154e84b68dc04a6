public import GatehouseCrypto

/// A gateway's verified copy of the directory log (DIRECTORY.md §7): every entry up to the last
/// checkpoint it trusted, and that checkpoint. It grows only through ``update(checkpoint:fetch:)``,
/// which accepts a newer checkpoint only when its tree extends the one already trusted. No I/O:
/// the caller passes a function that reads a tile or entry bundle by path.
public struct DirectoryMirror: Sendable {
    /// The network's checkpoint key, as pinned.
    public let verifier: NoteVerifierKey
    /// Keys the network rotated to since, each vouched for by a key trusted before it in a
    /// trusted checkpoint (DIRECTORY.md §4.1).
    public private(set) var rotatedKeys: [NoteVerifierKey] = []
    /// Every key a checkpoint may be signed by now.
    public var verifiers: [NoteVerifierKey] { [verifier] + rotatedKeys }
    /// The trusted entries.
    public private(set) var log: DirectoryLog
    /// The last checkpoint trusted, as signed (nil before the first update).
    public private(set) var checkpoint: SignedNote?
    /// Its parsed body.
    public private(set) var body: Checkpoint?

    /// An empty mirror that trusts nothing yet but the network key.
    public init(verifier: NoteVerifierKey) {
        self.verifier = verifier
        self.log = DirectoryLog()
    }

    /// A mirror restored from disk: the entries and checkpoint it had verified. The signature and
    /// the tree's root are checked again, so a file changed on disk is refused like a lying relay;
    /// with `reparse`, every entry is parsed again too.
    public init(
        verifier: NoteVerifierKey, entries: [[UInt8]], checkpoint: [UInt8], reparse: Bool = true,
        rotatedKeys: [NoteVerifierKey] = []
    ) throws(FormatError) {
        self.verifier = verifier
        self.rotatedKeys = rotatedKeys
        let (body, note) = try Checkpoint.open(checkpoint, verifiers: [verifier] + rotatedKeys)
        let log = reparse ? try DirectoryLog(entries: entries) : DirectoryLog(parsedBefore: entries)
        guard log.size == body.size, log.tree.root.constantTimeEquals(body.root) else {
            throw .integrityCheckFailed("the saved directory does not match its saved checkpoint")
        }
        self.log = log
        self.checkpoint = note
        self.body = body
    }

    /// Why an update was refused, beyond a malformed or badly signed checkpoint.
    public enum Refusal: Sendable, Equatable {
        /// The checkpoint is an older one of the same history (replayed or stale): it would hide
        /// the entries after it, revocations included.
        case rollback(trusted: UInt64, offered: UInt64)
        /// The new checkpoint's tree does not extend the trusted one: the authority signed two
        /// different histories (equivocation, proven by the two signed checkpoints).
        case inconsistent(trusted: UInt64, offered: UInt64)
        /// The tiles served do not reproduce the signed root: changed, missing or stale data.
        case unverifiable(offered: UInt64)
        /// Not judged: proof that the authority signed two histories is already on file, so no
        /// checkpoint of it is trusted any more (a gateway's client says so; never ``update``).
        case halted(trusted: UInt64)

        /// In words, for the log and `doctor`.
        public var description: String {
            switch self {
            case .rollback(let trusted, let offered):
                "directory rollback: a checkpoint of \(offered) entries offered after one of \(trusted) was trusted"
            case .inconsistent(let trusted, let offered):
                "directory fork: the checkpoint of \(offered) entries does not extend the trusted one of \(trusted)"
            case .unverifiable(let offered):
                "directory data: the tiles served do not match the signed checkpoint of \(offered) entries"
            case .halted(let trusted):
                "directory halted: the network's authority is proven to have signed two histories; no entry "
                    + "after the \(trusted) trusted before is trusted"
            }
        }
    }

    /// What an update did.
    public enum Outcome: Sendable, Equatable {
        /// The checkpoint is now trusted; these entries are new.
        case updated(Range<UInt64>)
        /// The checkpoint, validly signed, was refused: keep `evidence` (the signed checkpoint), and
        /// with the trusted one it proves the authority misbehaved or the data was changed.
        case refused(Refusal, evidence: SignedNote)
    }

    /// Verifies `checkpoint` and, when it is newer, the entries it adds, read through `fetch`;
    /// then trusts it. Throws `authenticationFailed` for a bad signature or origin and
    /// `malformed` for bad tiles or entries; returns ``Outcome/refused(_:evidence:)`` for a
    /// validly signed checkpoint that is a rollback or a fork.
    public mutating func update(
        checkpoint bytes: [UInt8], fetch: (TilePath) throws(FormatError) -> [UInt8]
    ) throws(FormatError) -> Outcome {
        let (offered, note) = try Checkpoint.open(bytes, verifiers: verifiers)
        let trusted = log.size
        if offered.size <= trusted {
            // A checkpoint of a tree no larger than the trusted one is judged from the entries held:
            // another root is proof of a fork by itself (two signed heads that cannot both hold).
            guard log.tree.root(size: offered.size).constantTimeEquals(offered.root) else {
                return .refused(.inconsistent(trusted: trusted, offered: offered.size), evidence: note)
            }
            // An older one is replayed or stale: it would hide the entries after it, revocations included.
            if offered.size < trusted {
                return .refused(.rollback(trusted: trusted, offered: offered.size), evidence: note)
            }
            // The same tree signed again later: keep the newer signature (it says the log is alive).
            if body.map({ offered.time > $0.time }) ?? true {
                checkpoint = note
                self.body = offered
                if let next = offered.nextKey, !verifiers.contains(next) { rotatedKeys.append(next) }
            }
            return .updated(trusted..<trusted)
        }
        guard let grown = try Self.tree(from: log, upTo: offered, fetch: fetch),
            grown.tree.root.constantTimeEquals(offered.root)
        else {
            // The data served does not reproduce the signed root from what this gateway holds.
            // Read the whole log again: if it reproduces the root, the authority signed a tree
            // that rewrote history (a fork, proven by the two signed checkpoints); if not, the
            // tiles were changed or are missing, which proves nothing about the authority.
            guard let whole = try Self.tree(from: DirectoryLog(), upTo: offered, fetch: fetch),
                whole.tree.root.constantTimeEquals(offered.root)
            else {
                return .refused(.unverifiable(offered: offered.size), evidence: note)
            }
            return .refused(.inconsistent(trusted: trusted, offered: offered.size), evidence: note)
        }
        // The explicit RFC 9162 check a monitor makes with only the two tree heads.
        if let body {
            do {
                try MerkleProof.verifyConsistency(
                    oldSize: body.size, newSize: offered.size, oldRoot: body.root, newRoot: offered.root,
                    proof: try grown.tree.consistencyProof(from: body.size, to: offered.size))
            } catch { return .refused(.inconsistent(trusted: trusted, offered: offered.size), evidence: note) }
        }
        log = grown
        self.checkpoint = note
        self.body = offered
        // A trusted key vouched for the next one in a checkpoint now trusted: it signs from now on.
        if let next = offered.nextKey, !verifiers.contains(next) { rotatedKeys.append(next) }
        return .updated(trusted..<offered.size)
    }

    /// `held` extended with the entries read through `fetch` up to `offered.size`; nil when an
    /// entry bundle overlapping `held` disagrees with it. Bad bundles and entries throw `malformed`.
    static func tree(
        from held: DirectoryLog, upTo offered: Checkpoint, fetch: (TilePath) throws(FormatError) -> [UInt8]
    ) throws(FormatError) -> DirectoryLog? {
        var grown = held
        let trusted = held.size
        for tile in TilePath.covering(kind: .entries, hashes: trusted..<offered.size, total: offered.size) {
            let all = try TileData.entries(inBundle: try fetch(tile), count: tile.count)
            let start = tile.index * UInt64(TilePath.width)
            // Entries before the held end are already held: they must be the same bytes.
            for (offset, entry) in all.enumerated() where start + UInt64(offset) < trusted {
                guard entry == held.entries[Int(start) + offset] else { return nil }
            }
            for (offset, entry) in all.enumerated() where start + UInt64(offset) >= trusted {
                do { grown.append(try DirectoryEntry.parse(entry)) } catch {
                    throw .malformed("directory entry \(start + UInt64(offset)): \(error.detail)")
                }
            }
        }
        return grown
    }

    /// Checks a checkpoint seen elsewhere (in a partner's receipt or bundle) against this copy:
    /// when it is no larger than the trusted tree, its root must be this tree's root at its size.
    /// Returns false when it is larger (it cannot be judged until the next update), true when it
    /// agrees, and throws `integrityCheckFailed` when it proves the authority equivocated.
    public func agrees(size: UInt64, root: SHA256Digest) throws(FormatError) -> Bool {
        guard size <= log.size else { return false }
        guard log.tree.root(size: size).constantTimeEquals(root) else {
            throw .integrityCheckFailed(
                "directory equivocation: a checkpoint of \(size) entries with another root than this gateway's")
        }
        return true
    }

    /// Checks, with an RFC 9162 inclusion proof against the trusted checkpoint, that entry
    /// `index` is in the signed tree, and returns it.
    public func provenEntry(_ index: UInt64) throws(FormatError) -> DirectoryEntry {
        guard let body, index < body.size else { throw .invalidInput("no directory entry \(index)") }
        let bytes = log.entries[Int(index)]
        let proof = try log.tree.inclusionProof(index: index, treeSize: body.size)
        try MerkleProof.verifyInclusion(
            leafHash: MerkleHash.leaf(bytes), index: index, treeSize: body.size, proof: proof, root: body.root)
        return try DirectoryEntry.parse(bytes)
    }
}
