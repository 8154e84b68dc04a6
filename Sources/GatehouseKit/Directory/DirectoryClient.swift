import Foundation
import GatehouseCrypto
public import GatehouseFormat

/// A gateway's side of the directory (DIRECTORY.md §7): the network card it pinned, its
/// verified copy of the log, and the evidence of any checkpoint it refused.
///
/// ```
/// HOME/directory/network.card   pinned once with `gatehouse network join`
/// HOME/directory/log/           checkpoint and tile/entries/…, as verified
/// HOME/directory/evidence/      TIME-KIND.checkpoint: refused checkpoints, with the trusted one
/// ```
public struct DirectoryClient: Sendable {
    /// The home folder.
    public let home: GatehouseHome

    /// The client of the gateway in `home`.
    public init(home: GatehouseHome) { self.home = home }

    /// `HOME/directory`.
    public var folder: String { home.path + "/directory" }
    /// `HOME/directory/network.card`.
    public var cardPath: String { folder + "/network.card" }
    /// The verified copy.
    public var log: TileFolder { TileFolder(path: folder + "/log") }
    /// `HOME/directory/evidence`.
    public var evidencePath: String { folder + "/evidence" }

    /// True when the gateway has joined a network.
    public var hasJoined: Bool { FileManager.default.fileExists(atPath: cardPath) }

    /// Pins `card`. Joining another network than the one pinned needs `replace`, and starts a
    /// new copy of the log.
    public func join(_ card: NetworkCard, replace: Bool = false) throws(KitError) {
        if let pinned = try pinnedCard() {
            if pinned == card { return }
            guard replace else {
                throw .partnerConflict(
                    "this gateway already belongs to the network \(pinned.network) (fingerprint \(pinned.fingerprint))",
                    path: cardPath)
            }
            try? FileManager.default.removeItem(atPath: log.path)
            try? FileManager.default.removeItem(atPath: keysPath)
        }
        try FileOperations.makeDirectory(folder, mode: 0o755)
        try FileOperations.replaceAtomically(at: cardPath, contents: Array(card.text.utf8), mode: 0o644)
    }

    /// The pinned network card, nil before `join`.
    public func pinnedCard() throws(KitError) -> NetworkCard? {
        guard let bytes = try FileOperations.read(at: cardPath, limit: NetworkCard.maxTextLength) else { return nil }
        do { return try NetworkCard.parse(String(decoding: bytes, as: UTF8.self)) } catch {
            throw .invalidCard("\(cardPath): \(error.detail)", path: cardPath)
        }
    }

    /// The verified copy as saved (``TileFolder/mirror(verifier:)``); nil before `join`.
    public func mirror() throws(KitError) -> DirectoryMirror? {
        guard let card = try pinnedCard() else { return nil }
        return try log.mirror(verifier: card.verifier, rotatedKeys: try rotatedKeys())
    }

    /// `HOME/directory/keys`: the keys the network rotated to, one verifier key a line, each
    /// vouched for by a key trusted before it (DIRECTORY.md §4.1).
    public var keysPath: String { folder + "/keys" }

    /// The keys the network rotated to since it was joined.
    public func rotatedKeys() throws(KitError) -> [NoteVerifierKey] { try Self.verifierKeys(at: keysPath) }

    /// The verifier keys in the file at `path`, one a line; none when there is no file.
    static func verifierKeys(at path: String) throws(KitError) -> [NoteVerifierKey] {
        guard let bytes = try FileOperations.read(at: path, limit: 64 * 1024) else { return [] }
        do {
            return try String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { line throws(FormatError) in
                try NoteVerifierKey.parse(String(line))
            }
        } catch { throw .invalidCard("\(path): \(error.detail)", path: path) }
    }

    /// What a sync did.
    public enum SyncOutcome: Sendable, Equatable {
        /// The checkpoint offered was verified and is now trusted; these entries are new.
        case updated(Range<UInt64>)
        /// It was refused; the evidence was saved at `evidence`.
        case refused(DirectoryMirror.Refusal, evidence: String)
        /// Fewer of the required witnesses than required cosigned it: not trusted (yet).
        case unwitnessed(cosigned: Int, required: Int)
    }

    /// Fetches the checkpoint and the entry bundles it adds from `source` (the relay's
    /// directory folder, or a copy of it), verifies them from the checkpoint trusted so far,
    /// and saves them. A refused checkpoint is kept as evidence beside the trusted one.
    public func sync(from source: TileFolder, now: UInt64 = KeyStore.now()) throws(KitError) -> SyncOutcome {
        guard var mirror = try mirror() else {
            throw .notInitialised(
                "this gateway has joined no network; run `gatehouse network join NETWORK.card`", path: cardPath)
        }
        guard let offered = try source.readCheckpoint() else {
            throw .io(
                "\(source.checkpointPath) is missing: the directory is not published there", path: source.checkpointPath
            )
        }
        let trusted = mirror.log.size
        // Two signed histories are proof the authority lied: from then on nothing new it signs is
        // trusted (the entries verified before stay), until a person has dealt with the evidence.
        if let proof = forkEvidence() { return .refused(.halted(trusted: trusted), evidence: proof) }
        // Witnesses first: a checkpoint too few of them cosigned is not even looked at.
        if let policy = try witnessPolicy(), policy.required > 0 {
            let cosigned = try cosignatures(of: offered, in: source, witnesses: policy.witnesses)
            guard cosigned >= policy.required else {
                return .unwitnessed(cosigned: cosigned, required: policy.required)
            }
        }
        let outcome: DirectoryMirror.Outcome
        do { outcome = try mirror.update(checkpoint: offered, fetch: source.read) } catch {
            throw .invalidCard("the directory at \(source.path) was refused: \(error.detail)", path: source.path)
        }
        switch outcome {
        case .updated(let range):
            for (path, bytes) in mirror.log.tiles(since: trusted) where path.kind == .entries {
                try log.write(path, bytes)
            }
            // The keys first: a checkpoint signed only by a new key cannot be read back without them.
            if mirror.rotatedKeys != (try rotatedKeys()) {
                try FileOperations.replaceAtomically(
                    at: keysPath, contents: Array(mirror.rotatedKeys.map { $0.text + "\n" }.joined().utf8),
                    mode: 0o644)
            }
            try log.writeCheckpoint(mirror.checkpoint!.bytes)
            return .updated(range)
        case .refused(let refusal, let evidence):
            let path = try saveEvidence(evidence, kind: refusal, now: now)
            return .refused(refusal, evidence: path)
        }
    }

    /// The latest proof on file that the authority signed two histories (`directory/evidence/
    /// TIME-fork.checkpoint`, from a sync or from a partner's checkpoint), if any.
    public func forkEvidence() -> String? {
        let forks = (FileOperations.listFolder(evidencePath) ?? []).filter { $0.hasByteSuffix("-fork.checkpoint") }
        return forks.sorted().last.map { evidencePath + "/" + $0 }
    }

    /// Keeps a refused checkpoint, and the trusted one beside it: together they are the proof.
    func saveEvidence(_ note: SignedNote, kind: DirectoryMirror.Refusal, now: UInt64) throws(KitError) -> String {
        try FileOperations.makeDirectory(evidencePath, mode: 0o755)
        let stem = evidencePath + "/" + FileOperations.timeForFileName(now)
        let word =
            switch kind {
            case .rollback: "rollback"
            case .inconsistent: "fork"
            case .unverifiable: "unverifiable"
            case .halted: "halted"
            }
        let path = stem + "-\(word).checkpoint"
        try FileOperations.replaceAtomically(at: path, contents: note.bytes, mode: 0o644)
        if let trusted = try log.readCheckpoint() {
            try FileOperations.replaceAtomically(at: stem + "-trusted.checkpoint", contents: trusted, mode: 0o644)
        }
        return path
    }
}
