import Foundation
import GatehouseCrypto
import GatehouseFormat
import Testing

/// The published directory vectors in docs/vectors/directory (docs/vectors/directory/README.md):
/// a small log as a relay serves it, its proofs, and files a reader must refuse. The files are
/// rebuilt here from test keys and compared byte for byte with the committed ones; with
/// GATEHOUSE_WRITE_VECTORS=1 they are written instead.
@Suite("Directory vectors (docs/vectors/directory)")
struct DirectoryVectors {
    static let folder = VectorFile.folder.appendingPathComponent("directory")
    static let network = "directory.nhs.example/test"
    static let time1: UInt64 = RFC3339.parse("2026-12-01T09:00:00Z")!
    static let time2: UInt64 = RFC3339.parse("2026-12-02T09:00:00Z")!

    static func key(_ label: String) -> SigningSecretKey { CardFixtures.signingKey(label) }
    static var verifier: NoteVerifierKey {
        try! NoteVerifierKey(name: network, key: key("directory-network-root").publicKey)
    }

    /// Every file, by its path under docs/vectors/directory.
    static func build() throws -> [String: [UInt8]] {
        let cards = try VectorFile.cards()
        let root = key("directory-network-root")
        var files: [String: [UInt8]] = ["network.card": Array(NetworkCard(verifier: verifier).text.utf8)]
        var log = DirectoryLog()
        for org in ["A81001", "YOI123", "XHM01"] {
            log.append(
                try DirectoryEntry.admit(cards[try ODSCode(org)]!, validFrom: time1, validUntil: time1 + 365 * 86_400))
        }
        for (path, bytes) in log.tiles(since: 0) { files["log/" + path.description] = bytes }
        let first = try log.checkpoint(verifier: verifier, key: root, time: time1)
        files["checkpoint-3"] = first.bytes
        let old = log
        let xhm = cards[try ODSCode("XHM01")]!
        log.append(try DirectoryEntry.revoke(org: xhm.org, rootKey: xhm.rootKey, at: time2, reason: "left the network"))
        for (path, bytes) in log.tiles(since: 3) { files["log/" + path.description] = bytes }
        files["log/checkpoint"] = try log.checkpoint(verifier: verifier, key: root, time: time2).bytes

        // A witness's cosignature of the latest checkpoint (DIRECTORY.md §10), made an hour later.
        let witness = try WitnessKey(name: "witness.nhs.example/test", key: key("directory-witness-1").publicKey)
        files["witness.vkey"] = Array((witness.text + "\n").utf8)
        let latest = try SignedNote.parse(files["log/checkpoint"]!)
        let cosignature = try WitnessKey.cosign(latest.text, time: time2 + 3600, witness: witness, key: key("directory-witness-1"))
        files["log/witness/" + witness.keyIDHex] = latest.adding(cosignature).bytes
        files["bad/cosignature-other-checkpoint"] = try SignedNote.parse(files["checkpoint-3"]!).adding(cosignature).bytes
        // The same cosignature asked for over HTTP (C2SP tlog-witness, DIRECTORY.md §10.1): the
        // add-checkpoint body from size 3 to the latest checkpoint, and the witness's answer.
        let request = try AddCheckpointRequest(
            oldSize: 3, proof: try log.tree.consistencyProof(from: 3, to: 4), checkpoint: files["log/checkpoint"]!)
        files["witness/add-checkpoint-request"] = request.bytes
        files["witness/add-checkpoint-response"] = AddCheckpointRequest.responseBody([cosignature])
        let proofLine = Base64.encode(request.proof[0].bytes)
        files["bad/add-checkpoint-bad-base64"] =
            Array("old 3\n\(proofLine.dropLast(2))!=\n\n".utf8) + files["log/checkpoint"]!
        files["bad/add-checkpoint-leading-zero"] = Array("old 03\n\(proofLine)\n\n".utf8) + files["log/checkpoint"]!
        files["bad/add-checkpoint-truncated"] = Array(request.bytes.prefix(30))

        var proofs = "# Leaf hashes, roots and proofs of the log in log/ (DIRECTORY.md §2), hashes in hex.\n"
        for i in 0..<4 { proofs += "leaf \(i) \(MerkleHash.leaf(log.entries[i]).hex)\n" }
        for size in 0...4 { proofs += "root \(size) \(log.tree.root(size: UInt64(size)).hex)\n" }
        for size in 1...4 {
            for i in 0..<size {
                proofs +=
                    "inclusion \(i) \(size)"
                    + (try log.tree.inclusionProof(index: UInt64(i), treeSize: UInt64(size))).map { " " + $0.hex }
                    .joined() + "\n"
            }
        }
        for new in 1...4 {
            for old in 1...new {
                proofs +=
                    "consistency \(old) \(new)"
                    + (try log.tree.consistencyProof(from: UInt64(old), to: UInt64(new))).map { " " + $0.hex }.joined()
                    + "\n"
            }
        }
        files["proofs.txt"] = Array(proofs.utf8)

        // Files a reader must refuse.
        let otherKey = key("directory-impostor")
        let impostor = try NoteVerifierKey(name: network, key: otherKey.publicKey)
        files["bad/checkpoint-other-key"] = try log.checkpoint(verifier: impostor, key: otherKey, time: time2).bytes
        let misnamed = try Checkpoint(origin: "directory.nhs.example/other", size: 4, root: log.tree.root, time: time2)
        files["bad/checkpoint-other-origin"] = try SignedNote.sign(misnamed.text, verifier: verifier, key: root).bytes
        var fork = old
        fork.append(
            try DirectoryEntry.admit(cards[try ODSCode("XHM01")]!, validFrom: time2, validUntil: time2 + 86_400))
        files["bad/checkpoint-fork-4"] = try fork.checkpoint(verifier: verifier, key: root, time: time2).bytes
        var tampered = files["log/tile/entries/000.p/4"]!
        tampered[40] ^= 0x01
        files["bad/tile-entries-000.p-4-one-byte-changed"] = tampered
        let text = String(decoding: old.entries[1], as: UTF8.self)
        files["bad/entry-name-changed"] = Array(text.replacingOccurrences(of: "\nname: ", with: "\nname: X").utf8)
        files["bad/entry-extra-line"] = old.entries[1] + Array("note: hello\n".utf8)
        return files
    }

    static func committed() throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        let base = folder.path
        guard let walker = FileManager.default.enumerator(atPath: base) else { return files }
        for case let path as String in walker {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: base + "/" + path, isDirectory: &isFolder),
                !isFolder.boolValue,
                path != "README.md"
            else { continue }
            files[path] = Array(try Data(contentsOf: URL(fileURLWithPath: base + "/" + path)))
        }
        return files
    }

    @Test func committedFilesAreWhatTheCodeWrites() throws {
        let built = try Self.build()
        if ProcessInfo.processInfo.environment["GATEHOUSE_WRITE_VECTORS"] == "1" {
            for (path, bytes) in built {
                let url = Self.folder.appendingPathComponent(path)
                try FileManager.default.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(bytes).write(to: url)
            }
        }
        let committed = try Self.committed()
        #expect(Set(committed.keys) == Set(built.keys))
        for (path, bytes) in built { #expect(committed[path] == bytes, "\(path) differs from what the code writes") }
    }

    /// What a monitor written from DIRECTORY.md does with the committed files.
    @Test func aMonitorAcceptsTheLogAndRefusesEveryBadFile() throws {
        let files = try Self.committed()
        let card = try NetworkCard.parse(String(decoding: files["network.card"]!, as: UTF8.self))
        let fetch = { (path: TilePath) throws(FormatError) -> [UInt8] in
            guard let bytes = files["log/" + path.description] else { throw .io("no \(path)") }
            return bytes
        }
        var mirror = DirectoryMirror(verifier: card.verifier)
        #expect(try mirror.update(checkpoint: files["checkpoint-3"]!, fetch: fetch) == .updated(0..<3))
        #expect(try mirror.update(checkpoint: files["log/checkpoint"]!, fetch: fetch) == .updated(3..<4))
        let state = try DirectoryState(entries: mirror.log.entries)
        let xhm = try ODSCode("XHM01")
        #expect(state.listings.count == 3 && state.listings[xhm]?.revocation?.index == 3)

        for line in String(decoding: files["proofs.txt"]!, as: UTF8.self).split(separator: "\n")
        where !line.hasPrefix("#") {
            let words = line.split(separator: " ").map(String.init)
            let hashes = words.dropFirst(3).map { SHA256Digest(bytes: [UInt8](hex: $0)!)! }
            switch words[0] {
            case "leaf": #expect(MerkleHash.leaf(mirror.log.entries[Int(words[1])!]).hex == words[2])
            case "root": #expect(mirror.log.tree.root(size: UInt64(words[1])!).hex == words[2])
            case "inclusion":
                let (index, size) = (UInt64(words[1])!, UInt64(words[2])!)
                try MerkleProof.verifyInclusion(
                    leafHash: MerkleHash.leaf(mirror.log.entries[Int(index)]), index: index, treeSize: size,
                    proof: hashes, root: mirror.log.tree.root(size: size))
            case "consistency":
                let (old, new) = (UInt64(words[1])!, UInt64(words[2])!)
                try MerkleProof.verifyConsistency(
                    oldSize: old, newSize: new, oldRoot: mirror.log.tree.root(size: old),
                    newRoot: mirror.log.tree.root(size: new), proof: hashes)
            default: Issue.record("unknown line \(line)")
            }
        }

        #expect(throws: FormatError.self) {
            try Checkpoint.open(files["bad/checkpoint-other-key"]!, verifier: card.verifier)
        }
        #expect(throws: FormatError.self) {
            try Checkpoint.open(files["bad/checkpoint-other-origin"]!, verifier: card.verifier)
        }
        guard
            case .refused(.inconsistent(4, 4), _) = try mirror.update(
                checkpoint: files["bad/checkpoint-fork-4"]!, fetch: fetch)
        else {
            Issue.record("the fork was not refused")
            return
        }
        guard case .refused(.rollback(4, 3), _) = try mirror.update(checkpoint: files["checkpoint-3"]!, fetch: fetch)
        else {
            Issue.record("the rollback was not refused")
            return
        }
        var fresh = DirectoryMirror(verifier: card.verifier)
        var changed = files
        changed["log/tile/entries/000.p/4"] = files["bad/tile-entries-000.p-4-one-byte-changed"]
        let outcome = try? fresh.update(
            checkpoint: files["log/checkpoint"]!,
            fetch: { (path: TilePath) throws(FormatError) -> [UInt8] in
                guard let bytes = changed["log/" + path.description] else { throw .io("no \(path)") }
                return bytes
            })
        let expected = DirectoryMirror.Outcome.refused(
            .unverifiable(offered: 4), evidence: try SignedNote.parse(files["log/checkpoint"]!))
        #expect(outcome == nil || outcome == expected)
        #expect(fresh.log.size == 0)
        let witness = try WitnessKey.parse(String(decoding: files["witness.vkey"]!.dropLast(), as: UTF8.self))
        let cosigned = try SignedNote.parse(files["log/witness/" + witness.keyIDHex]!)
        #expect(cosigned.text == (try SignedNote.parse(files["log/checkpoint"]!)).text)
        #expect(try witness.cosignedTime(cosigned) == Self.time2 + 3600)
        #expect(throws: FormatError.self) {
            try witness.cosignedTime(try SignedNote.parse(files["bad/cosignature-other-checkpoint"]!))
        }
        let request = try AddCheckpointRequest.parse(files["witness/add-checkpoint-request"]!)
        let offered = try Checkpoint.open(request.checkpoint, verifier: Self.verifier).0
        try MerkleProof.verifyConsistency(
            oldSize: request.oldSize, newSize: offered.size,
            oldRoot: try Checkpoint.open(files["checkpoint-3"]!, verifier: Self.verifier).0.root,
            newRoot: offered.root, proof: request.proof)
        let answered = try AddCheckpointRequest.cosigned(
            try SignedNote.parse(request.checkpoint), answer: files["witness/add-checkpoint-response"]!, by: witness)
        #expect(answered == cosigned)
        for name in ["bad-base64", "leading-zero", "truncated"] {
            #expect(throws: FormatError.self) { try AddCheckpointRequest.parse(files["bad/add-checkpoint-" + name]!) }
        }
        #expect(throws: FormatError.self) { try DirectoryEntry.parse(files["bad/entry-name-changed"]!) }
        #expect(throws: FormatError.self) { try DirectoryEntry.parse(files["bad/entry-extra-line"]!) }
    }
}
