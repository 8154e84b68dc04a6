import Foundation
import GatehouseFormat

extension DirectoryClient {
    /// What comparing a checkpoint seen elsewhere with the trusted copy found.
    public enum Comparison: Sendable, Equatable {
        /// It is a checkpoint of the same history (no larger than the trusted tree).
        case consistent
        /// It is larger than the trusted tree: kept under `directory/seen/` and compared after
        /// the next sync.
        case pending
        /// It contradicts the trusted tree: proof that the authority equivocated, kept as evidence.
        case equivocation(evidence: String)
    }

    /// `HOME/directory/seen`: checkpoints seen elsewhere, larger than the trusted tree when seen.
    public var seenPath: String { folder + "/seen" }

    /// The signed checkpoint this gateway trusts, for its bundles and receipts to carry
    /// (FORMAT.md §3.1, §4.1); nil when it joined no network, never synced, or the saved file is
    /// not one that may be carried (a damaged copy must not stop records or receipts).
    public func trustedCheckpoint() -> [UInt8]? {
        guard hasJoined, let bytes = (try? log.readCheckpoint()) ?? nil else { return nil }
        return (try? CarriedCheckpoint.check(bytes)) == nil ? nil : bytes
    }

    /// Compares a signed checkpoint another gateway holds (given in a receipt or a bundle, or
    /// read from another relay) with the trusted copy (DIRECTORY.md §7.2). It must be signed by
    /// the pinned network key (`invalidCard` otherwise: anyone can send bytes). `from` names
    /// where it came from, for the evidence's file name.
    public func compare(_ bytes: [UInt8], from: String, now: UInt64 = KeyStore.now()) throws(KitError) -> Comparison {
        // The copy this process already loaded and verified (DirectoryCache), not a reload: every
        // receipt from a partner that follows the network carries a checkpoint, and reloading
        // 100,000 entries for each cost ~290 ms of a 100 KB record's drop-to-receipt time.
        var loaded = try DirectoryCache.shared.load(self)?.mirror
        if loaded == nil { loaded = try mirror() }
        guard let mirror = loaded else {
            throw .notInitialised("this gateway has joined no network", path: cardPath)
        }
        let offered: Checkpoint
        let note: SignedNote
        do { (offered, note) = try Checkpoint.open(bytes, verifiers: mirror.verifiers) } catch {
            throw .invalidCard("the checkpoint from \(from) is not the network's: \(error.detail)")
        }
        do {
            guard try mirror.agrees(size: offered.size, root: offered.root) else {
                try FileOperations.makeDirectory(seenPath, mode: 0o755)
                let name = "\(offered.size)-\(offered.root.hex.prefix(16)).checkpoint"
                try FileOperations.replaceAtomically(at: seenPath + "/" + name, contents: note.bytes, mode: 0o644)
                return .pending
            }
            return .consistent
        } catch {
            return .equivocation(
                evidence: try saveEvidence(
                    note, kind: .inconsistent(trusted: mirror.log.size, offered: offered.size),
                    now: now))
        }
    }

    /// Compares the checkpoints kept under `seen/` with the trusted copy again (after a sync):
    /// those now judged are removed, contradictions become evidence. Returns the evidence files.
    public func compareSeen(now: UInt64 = KeyStore.now()) throws(KitError) -> [String] {
        var evidence: [String] = []
        for name in (FileOperations.listFolder(seenPath) ?? []).sorted() where name.hasByteSuffix(".checkpoint") {
            let path = seenPath + "/" + name
            guard let bytes = try FileOperations.read(at: path, limit: SignedNote.maxLength) else { continue }
            switch try compare(bytes, from: "seen/\(name)", now: now) {
            case .pending: continue
            case .consistent: break
            case .equivocation(let file): evidence.append(file)
            }
            unlink(path)
        }
        return evidence
    }
}
