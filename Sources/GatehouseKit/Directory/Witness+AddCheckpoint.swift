import Foundation
public import GatehouseFormat

extension Witness {
    /// `HOME/witness/latest`: the latest checkpoint this witness cosigned, with the log's
    /// signatures it verified and its own cosignature (what the monitoring URL serves).
    public var latestPath: String { home.path + "/witness/latest" }
    /// `HOME/witness/keys`: keys the network rotated to in checkpoints this witness cosigned.
    public var keysPath: String { home.path + "/witness/keys" }
    /// `HOME/witness/evidence`: checkpoints validly signed by the network but refused as
    /// inconsistent with the latest one cosigned (a fork), each beside that one.
    public var evidencePath: String { home.path + "/witness/evidence" }

    /// A witness's answer to `add-checkpoint`, with the HTTP status tlog-witness gives it.
    public enum Answer: Sendable, Equatable {
        /// 200: cosigned; the body is the cosignature line.
        case cosigned(SignedNote.Signature, size: UInt64)
        /// 400: not a request or checkpoint, or an old size larger than the checkpoint's.
        case malformed(String)
        /// 403: no valid signature by a key the witness trusts for the origin.
        case forbidden(String)
        /// 404: a log this witness does not follow.
        case unknownLog(String)
        /// 409: the old size is not the size of the latest checkpoint cosigned, which is `latest`.
        case conflict(latest: UInt64)
        /// 422: the checkpoint does not extend the latest one cosigned (the consistency proof
        /// fails, or the same size has another root): never cosigned.
        case inconsistent(String)

        /// What was decided, in words (the body of a refusal).
        public var reason: String {
            switch self {
            case .cosigned(_, let size): "cosigned the checkpoint of \(size) entries"
            case .malformed(let why), .forbidden(let why), .unknownLog(let why), .inconsistent(let why): why
            case .conflict(let latest): "the latest checkpoint this witness cosigned has \(latest) entries"
            }
        }

        /// The HTTP status code (tlog-witness §add-checkpoint).
        public var status: Int {
            switch self {
            case .cosigned: 200
            case .malformed: 400
            case .forbidden: 403
            case .unknownLog: 404
            case .conflict: 409
            case .inconsistent: 422
            }
        }
    }

    /// The latest checkpoint cosigned, as stored; nil before the first.
    public func latest() throws(KitError) -> (Checkpoint, SignedNote)? {
        guard let bytes = try FileOperations.read(at: latestPath, limit: SignedNote.maxLength) else { return nil }
        do {
            let note = try SignedNote.parse(bytes)
            return (try Checkpoint.parse(note.text), note)
        } catch { throw .invalidCard("\(latestPath): \(error.detail)", path: latestPath) }
    }

    /// Decides on one `add-checkpoint` request body (C2SP tlog-witness): verifies the log's
    /// signature with the pinned network key (or one it rotated to), the old size against the
    /// latest checkpoint cosigned, and the consistency proof from it; then cosigns at `now` and
    /// records the new latest checkpoint durably before answering. Throws only when the
    /// witness's own files fail (a 500).
    public func addCheckpoint(_ body: [UInt8], now: UInt64 = KeyStore.now()) throws(KitError) -> Answer {
        let request: AddCheckpointRequest
        let note: SignedNote
        let offered: Checkpoint
        do {
            request = try AddCheckpointRequest.parse(body)
            note = try SignedNote.parse(request.checkpoint)
            offered = try Checkpoint.parse(note.text)
        } catch { return .malformed(error.detail) }
        guard let card = try DirectoryClient(home: home).pinnedCard() else {
            throw .notInitialised("this witness follows no network yet (no \(home.path)/directory/network.card)")
        }
        guard offered.origin.sameBytes(card.network) else {
            return .unknownLog("this witness does not follow the log \(offered.origin.debugDescription)")
        }
        let verifiers = [card.verifier] + (try rotatedKeys())
        do { _ = try Checkpoint.open(request.checkpoint, verifiers: verifiers) } catch {
            return .forbidden(error.detail)
        }
        guard request.oldSize <= offered.size else {
            return .malformed("the old size \(request.oldSize) is larger than the checkpoint's \(offered.size)")
        }
        // Check and record under one lock: two requests racing must not roll the witness back.
        let lock = try HomeLock.witnessState(home)
        defer { lock.release() }
        let latest = try latest()
        let latestSize = latest?.0.size ?? 0
        guard request.oldSize == latestSize else { return .conflict(latest: latestSize) }
        if offered.size == 0, offered.root != MerkleHash.empty {
            return .inconsistent("a checkpoint of size 0 whose root is not the empty tree's")
        }
        if let (trusted, _) = latest {
            do {
                try MerkleProof.verifyConsistency(
                    oldSize: trusted.size, newSize: offered.size, oldRoot: trusted.root, newRoot: offered.root,
                    proof: request.proof)
            } catch {
                try saveEvidence(note, now: now)
                return .inconsistent(error.detail)
            }
        } else if !request.proof.isEmpty {
            return .inconsistent("a consistency proof from the empty tree must be empty")
        }
        return .cosigned(try cosign(note, offered, verifiers: verifiers, now: now), size: offered.size)
    }

    /// Cosigns `note` at `now` and records it (with the log signatures verified and the
    /// cosignature) as the latest, after any key it rotates to.
    private func cosign(
        _ note: SignedNote, _ body: Checkpoint, verifiers: [NoteVerifierKey], now: UInt64
    ) throws(KitError) -> SignedNote.Signature {
        let witness = try publicKey()
        let key = try secretKey(for: witness)
        let line: SignedNote.Signature
        do { line = try WitnessKey.cosign(note.text, time: now, witness: witness, key: key) } catch {
            throw .invalidInput(error.detail)
        }
        // The new key first: a later checkpoint signed by it alone is then accepted (DIRECTORY.md §4.1).
        let rotated = try rotatedKeys()
        if let next = body.nextKey, !verifiers.contains(next) {
            try FileOperations.replaceAtomically(
                at: keysPath, contents: Array((rotated + [next]).map { $0.text + "\n" }.joined().utf8), mode: 0o644)
        }
        let logLines = note.signatures.filter { line in
            verifiers.contains { $0.keyID == line.keyID && $0.name.sameBytes(line.name) }
        }
        let kept = note.keeping(logLines).adding(line)
        // Durable before the answer: a witness that forgot what it cosigned could be rolled back.
        try FileOperations.replaceAtomically(at: latestPath, contents: kept.bytes, mode: 0o644)
        return line
    }

    /// The keys the network rotated to, as this witness learnt them.
    func rotatedKeys() throws(KitError) -> [NoteVerifierKey] { try DirectoryClient.verifierKeys(at: keysPath) }

    /// Keeps a refused, validly signed checkpoint beside the latest cosigned: together they prove
    /// that the log signed two histories.
    private func saveEvidence(_ note: SignedNote, now: UInt64) throws(KitError) {
        try FileOperations.makeDirectory(evidencePath, mode: 0o755)
        let stem = evidencePath + "/" + FileOperations.timeForFileName(now)
        try FileOperations.replaceAtomically(at: stem + "-fork.checkpoint", contents: note.bytes, mode: 0o644)
        if let bytes = try FileOperations.read(at: latestPath, limit: SignedNote.maxLength) {
            try FileOperations.replaceAtomically(at: stem + "-cosigned.checkpoint", contents: bytes, mode: 0o644)
        }
    }
}
