import GatehouseCrypto
import GatehouseFormat
import Testing

/// A gateway's copy of the directory (DIRECTORY.md §7) against honest and lying authorities
/// and relays.
@Suite("Directory: a gateway's verified copy")
struct DirectoryMirrorTests {
    typealias F = DirectoryFixtures

    static func fetcher(_ files: [String: [UInt8]]) -> (TilePath) throws(FormatError) -> [UInt8] {
        { (path: TilePath) throws(FormatError) -> [UInt8] in
            guard let bytes = files[path.description] else { throw .io("\(path) not found") }
            return bytes
        }
    }

    static func sync(_ mirror: inout DirectoryMirror, _ files: [String: [UInt8]]) throws -> DirectoryMirror.Outcome {
        try mirror.update(checkpoint: files["checkpoint"]!, fetch: fetcher(files))
    }

    @Test func aGatewayFollowsTheLogAsItGrowsAcrossPartialTiles() throws {
        var mirror = DirectoryMirror(verifier: F.verifier())
        var log = DirectoryLog()
        var served: [String: [UInt8]] = [:]
        var previous: UInt64 = 0
        for (step, size) in [1, 2, 255, 256, 257, 600].enumerated() {
            while log.size < size { log.append(F.admit(String(format: "B%05d", log.size))) }
            for (path, bytes) in log.tiles(since: previous) { served[path.description] = bytes }
            served["checkpoint"] = try log.checkpoint(
                verifier: F.verifier(), key: F.networkKey(), time: F.t0 + UInt64(step)
            ).bytes
            #expect(try Self.sync(&mirror, served) == .updated(previous..<UInt64(size)))
            #expect(mirror.log.tree.root == log.tree.root)
            previous = UInt64(size)
        }
        // The same checkpoint again changes nothing.
        #expect(try Self.sync(&mirror, served) == .updated(600..<600))
        // Every tile of the whole log written at once was written the same over the steps (which
        // also left the older partial tiles behind, as tlog-tiles allows).
        let atOnce = try F.served(log, time: F.t0 + 5)
        for (path, bytes) in atOnce { #expect(served[path] == bytes, "\(path)") }
        #expect(served.keys.filter { !atOnce.keys.contains($0) }.allSatisfy { $0.contains(".p/") })
        // What was saved reloads, and a saved entry changed on disk is refused.
        _ = try DirectoryMirror(
            verifier: F.verifier(), entries: mirror.log.entries, checkpoint: mirror.checkpoint!.bytes)
        var entries = mirror.log.entries
        entries[3] = F.admit("B00003", name: "Impostor").bytes
        #expect(throws: FormatError.self) {
            try DirectoryMirror(verifier: F.verifier(), entries: entries, checkpoint: mirror.checkpoint!.bytes)
        }
    }

    @Test func aCheckpointSignedByAnotherKeyIsRefused() throws {
        var mirror = DirectoryMirror(verifier: F.verifier())
        let log = F.log(3)
        var files = try F.served(log)
        files["checkpoint"] = try log.checkpoint(
            verifier: F.verifier("impostor"), key: F.networkKey("impostor"), time: F.t0
        ).bytes
        #expect(throws: FormatError.self) { try Self.sync(&mirror, files) }
        #expect(mirror.log.size == 0 && mirror.checkpoint == nil)
    }

    @Test func aRollbackIsRefusedAndAForkIsProven() throws {
        var mirror = DirectoryMirror(verifier: F.verifier())
        let old = try F.served(F.log(5))
        #expect(try Self.sync(&mirror, try F.served(F.log(9))) == .updated(0..<9))
        guard case .refused(.rollback(9, 5), _) = try Self.sync(&mirror, old) else {
            Issue.record("rollback accepted")
            return
        }

        // The authority rewrites entry 2 and signs a longer tree.
        var forked = DirectoryLog()
        for i in 0..<12 {
            forked.append(
                i == 2
                    ? F.admit("A00002", name: "Impostor", label: "thief")
                    : F.admit(String(format: "A%05d", i), name: "Practice \(i)"))
        }
        let lying = try F.served(forked)
        guard case .refused(.inconsistent(9, 12), let evidence) = try Self.sync(&mirror, lying) else {
            Issue.record("fork accepted")
            return
        }
        #expect(evidence.bytes == lying["checkpoint"])
        #expect(mirror.log.size == 9)
        // A shorter forked checkpoint is a fork too, not a harmless rollback.
        var shortFork = DirectoryLog()
        for i in 0..<4 {
            shortFork.append(
                i == 2 ? F.admit("A00002", label: "thief") : F.admit(String(format: "A%05d", i), name: "Practice \(i)"))
        }
        guard case .refused(.inconsistent(9, 4), _) = try Self.sync(&mirror, try F.served(shortFork)) else {
            Issue.record("short fork")
            return
        }
        // A log that drops an entry cannot extend the trusted one either.
        var dropped = DirectoryLog()
        for i in 0..<12 where i != 4 { dropped.append(F.admit(String(format: "A%05d", i), name: "Practice \(i)")) }
        guard case .refused(.inconsistent, _) = try Self.sync(&mirror, try F.served(dropped)) else {
            Issue.record("drop accepted")
            return
        }
    }

    @Test func twoGatewaysShownDifferentTreesCatchItFromOneCheckpoint() throws {
        var practice = DirectoryMirror(verifier: F.verifier())
        var prison = DirectoryMirror(verifier: F.verifier())
        var honest = F.log(6)
        var split = F.log(6)
        honest.append(F.admit("YOI123", name: "HMP Test"))
        split.append(F.admit("YOI123", name: "HMP Test", label: "thief"))  // the prison's ODS, another root
        _ = try Self.sync(&practice, try F.served(split))
        _ = try Self.sync(&prison, try F.served(honest))
        // The prison's receipt carries its checkpoint; the practice compares it with its own.
        let seen = try Checkpoint.open(prison.checkpoint!.bytes, verifier: F.verifier()).0
        #expect(throws: FormatError.self) { try practice.agrees(size: seen.size, root: seen.root) }
        #expect(try prison.agrees(size: 5, root: honest.tree.root(size: 5)))
        #expect(try prison.agrees(size: 20, root: MerkleHash.empty) == false)
    }

    @Test func changedOrMissingTilesAreNeverTrusted() throws {
        let files = try F.served(F.log(300))
        for (path, bytes) in files where path.hasPrefix("tile/entries") {
            for offset in [0, 1, bytes.count / 2, bytes.count - 1] {
                var changed = files
                changed[path]![offset] ^= 0x01
                var mirror = DirectoryMirror(verifier: F.verifier())
                let outcome = try? Self.sync(&mirror, changed)
                if let outcome {
                    #expect(
                        outcome
                            == .refused(
                                .unverifiable(offered: 300), evidence: try SignedNote.parse(files["checkpoint"]!)))
                }
                #expect(mirror.log.size == 0, "\(path) byte \(offset)")
            }
        }
        var mirror = DirectoryMirror(verifier: F.verifier())
        var missing = files
        missing["tile/entries/001.p/44"] = nil
        #expect(throws: FormatError.self) { try Self.sync(&mirror, missing) }
        var garbage = files
        garbage["tile/entries/001.p/44"] = [UInt8](repeating: 0xFF, count: 70_000)
        #expect(throws: FormatError.self) { try Self.sync(&mirror, garbage) }
        #expect(mirror.log.size == 0)
    }

    @Test func inclusionIsProvenForTheEntryAskedAndNoOther() throws {
        var mirror = DirectoryMirror(verifier: F.verifier())
        _ = try Self.sync(&mirror, try F.served(F.log(40)))
        let entry = try mirror.provenEntry(17)
        #expect(entry.org.value == "A00017")
        let proof = try mirror.log.tree.inclusionProof(index: 17, treeSize: 40)
        #expect(throws: FormatError.self) {
            try MerkleProof.verifyInclusion(
                leafHash: F.admit("A00018", name: "Practice 18").leafHash, index: 17, treeSize: 40,
                proof: proof, root: mirror.log.tree.root)
        }
        #expect(throws: FormatError.self) { try mirror.provenEntry(40) }
    }
}

extension DirectoryMirrorTests {
    @Test func anEmptyLogIsTrustedAndTheSameTreeSignedLaterRefreshesTheCheckpoint() throws {
        var mirror = DirectoryMirror(verifier: F.verifier())
        let empty = DirectoryLog()
        let first = try empty.checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0)
        #expect(try mirror.update(checkpoint: first.bytes, fetch: Self.fetcher([:])) == .updated(0..<0))
        #expect(mirror.checkpoint == first)
        let later = try empty.checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0 + 60)
        #expect(try mirror.update(checkpoint: later.bytes, fetch: Self.fetcher([:])) == .updated(0..<0))
        #expect(mirror.body?.time == F.t0 + 60)
        // An older signature of the same tree does not turn the clock back.
        #expect(try mirror.update(checkpoint: first.bytes, fetch: Self.fetcher([:])) == .updated(0..<0))
        #expect(mirror.body?.time == F.t0 + 60)
    }
}

extension DirectoryMirrorTests {
    @Test func aRootRotationIsTakenOnlyWhenATrustedKeyVouchesForIt() throws {
        let old = F.verifier()
        let oldKey = F.networkKey()
        let nextKey = F.networkKey("network-root-2")
        let next = F.verifier("network-root-2")
        var log = F.log(3)
        var mirror = DirectoryMirror(verifier: old)
        var files = try F.served(log)
        _ = try Self.sync(&mirror, files)

        // The new key alone, before any trusted checkpoint named it: refused.
        log.append(F.admit("YOI123"))
        for (path, bytes) in log.tiles(since: 3) { files[path.description] = bytes }
        files["checkpoint"] = try log.checkpoint(verifier: next, key: nextKey, time: F.t0 + 1).bytes
        #expect(throws: FormatError.self) { try Self.sync(&mirror, files) }

        // A thief's rotation, signed only by the key it names: refused.
        let thiefKey = F.networkKey("thief-root")
        let thief = F.verifier("thief-root")
        files["checkpoint"] = try log.rotationCheckpoint(
            old: thief, oldKey: thiefKey, next: thief, nextKey: thiefKey, time: F.t0 + 1
        ).bytes
        #expect(throws: FormatError.self) { try Self.sync(&mirror, files) }

        // The real rotation, vouched for by the old key: taken, and the new key alone signs from now on.
        files["checkpoint"] = try log.rotationCheckpoint(
            old: old, oldKey: oldKey, next: next, nextKey: nextKey, time: F.t0 + 1
        ).bytes
        #expect(try Self.sync(&mirror, files) == .updated(3..<4))
        #expect(mirror.rotatedKeys == [next])
        log.append(F.admit("XHM01"))
        for (path, bytes) in log.tiles(since: 4) { files[path.description] = bytes }
        files["checkpoint"] = try log.checkpoint(verifier: next, key: nextKey, time: F.t0 + 2).bytes
        #expect(try Self.sync(&mirror, files) == .updated(4..<5))
        // Reloaded with the keys it was told of.
        _ = try DirectoryMirror(
            verifier: old, entries: mirror.log.entries, checkpoint: mirror.checkpoint!.bytes, rotatedKeys: [next])
        #expect(throws: FormatError.self) {
            try DirectoryMirror(verifier: old, entries: mirror.log.entries, checkpoint: mirror.checkpoint!.bytes)
        }
    }
}
