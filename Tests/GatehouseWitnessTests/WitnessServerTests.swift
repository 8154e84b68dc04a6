import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseNotify
import GatehouseTesting
import GatehouseWitness
import Testing

/// `gatehouse network witness serve`: C2SP tlog-witness `add-checkpoint` over a real HTTP server
/// on 127.0.0.1 (DIRECTORY.md §10.1).
@Suite("Witness: the tlog-witness HTTP API")
struct WitnessServerTests {
    typealias W = WitnessFixture

    @Test func itCosignsAndTheCosignatureVerifiesWithTheSpecAlgorithm() async throws {
        let fixture = try W()
        let tree = W.tree(5)
        try await fixture.serving { port in
            let answer = try await W.post(try fixture.request(tree, old: 0, size: 5), port: port)
            #expect(answer.status == 200)
            // One signature line: "— NAME BASE64(keyid || u64 time || Ed25519)" and LF.
            let text = String(decoding: answer.body, as: UTF8.self)
            let prefix = "\u{2014} witness.nhs.example/w1 "
            #expect(text.hasPrefix(prefix) && text.hasSuffix("\n") && text.split(separator: "\n").count == 1)
            let raw = try #require(Base64.decode(String(text.dropFirst(prefix.count).dropLast())))
            #expect(raw.count == 4 + 8 + 64)
            // tlog-cosignature, done by hand: key id = SHA-256(name LF 0x04 key)[:4]; the message is
            // "cosignature/v1" LF "time T" LF and the checkpoint's note text.
            let key = fixture.witnessKey.key
            let id = SHA256Hasher.hash(Array("witness.nhs.example/w1\n".utf8) + [0x04] + key.bytes).bytes.prefix(4)
            #expect(Array(raw.prefix(4)) == Array(id))
            let time = raw[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(time > 1_700_000_000 && time <= KeyStore.now())
            let note = try fixture.checkpoint(tree, size: 5)
            let message = Array("cosignature/v1\ntime \(time)\n".utf8) + Array(note.text.utf8)
            #expect(key.isValidSignature(Array(raw.dropFirst(12)), for: message))
            // The monitoring URL serves the checkpoint with the log's signature and the cosignature.
            let origin = SHA256Hasher.hash(Array(W.network.utf8)).bytes.hexString
            let served = try #require(try await W.get("/\(origin)/checkpoint", port: port))
            #expect(served.status == 200 && served.body == String(decoding: note.bytes, as: UTF8.self) + text)
            #expect(try await W.get("/\(String(repeating: "0", count: 64))/checkpoint", port: port)?.status == 404)
        }
    }

    /// The harness's own proof: with both threads of the concurrency pool blocked (as synchronous
    /// tests that wait for a child process block them under CI's load), the server still answers,
    /// because it runs on a ``ServerThread``. Without it this request times out.
    @Test func itAnswersWhileTheConcurrencyPoolIsBlocked() async throws {
        let fixture = try W()
        let request = try fixture.request(W.tree(3), old: 0, size: 3)
        try await fixture.serving { port in
            let answer = try await W.blocking {
                for _ in 0..<2 { Task { sleep(3) } }
                usleep(300_000)  // both pool threads are now asleep in those tasks
                return try HTTPPost.send(
                    request, to: "http://127.0.0.1:\(port)/add-checkpoint", contentType: "text/plain", timeout: .seconds(1))
            }
            #expect(answer.status == 200)
        }
    }

    @Test func theCommittedVectorIsAnsweredByteForByte() throws {
        // docs/vectors/directory/witness: the request from size 3, and the answer at 2026-12-02T10:00:00Z.
        // Read from the source tree, as the format tests read the vectors.
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/vectors/directory")
        func file(_ name: String) throws -> [UInt8] {
            Array(try Data(contentsOf: folder.appendingPathComponent(name)))
        }
        let fixture = try W(keyLabel: "directory-witness-1")
        #expect(fixture.witnessKey.text + "\n" == String(decoding: try file("witness.vkey"), as: UTF8.self))
        // The witness cosigned size 3 before.
        let three = try AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: try file("checkpoint-3"))
        guard case .cosigned = try fixture.witness.addCheckpoint(three.bytes, now: 1_796_202_000) else {
            Issue.record("checkpoint-3 was not cosigned")
            return
        }
        let answer = try fixture.witness.addCheckpoint(try file("witness/add-checkpoint-request"), now: 1_796_205_600)
        guard case .cosigned(let line, size: 4) = answer else {
            Issue.record("the vector request was refused: \(answer)")
            return
        }
        #expect(AddCheckpointRequest.responseBody([line]) == (try file("witness/add-checkpoint-response")))
    }

    @Test func aRollbackIsRefusedWithTheLatestSize() async throws {
        let fixture = try W()
        let tree = W.tree(8)
        try await fixture.serving { port in
            #expect(try await W.post(try fixture.request(tree, old: 0, size: 5), port: port).status == 200)
            // A client that believes the witness is at 0, offering a smaller tree: 409 and "5".
            let stale = try await W.post(try fixture.request(tree, old: 0, size: 3), port: port)
            #expect(stale.status == 409 && stale.body == Array("5\n".utf8) && stale.contentType == "text/x.tlog.size")
            // The right old size with a smaller checkpoint: the old size is larger than the new one.
            let smaller = try AddCheckpointRequest(oldSize: 5, proof: [], checkpoint: try fixture.checkpoint(tree, size: 3).bytes)
            #expect(try await W.post(smaller.bytes, port: port).status == 400)
            #expect(try await W.post(try fixture.request(tree, old: 5, size: 8), port: port).status == 200)
        }
        // The state outlives the server: a new one still knows 8.
        try await fixture.serving { port in
            let again = try await W.post(try fixture.request(tree, old: 5, size: 8), port: port)
            #expect(again.status == 409 && again.body == Array("8\n".utf8))
        }
        #expect(try fixture.witness.latest()?.0.size == 8)
    }

    @Test func aForkIsRefusedAndKeptAsEvidence() async throws {
        let fixture = try W()
        let tree = W.tree(5), other = W.tree(9, variant: " rewritten")
        try await fixture.serving { port in
            #expect(try await W.post(try fixture.request(tree, old: 0, size: 5), port: port).status == 200)
            // A larger tree that rewrote the first five, with its own (true) proof from 5: 422.
            #expect(try await W.post(try fixture.request(other, old: 5, size: 9), port: port).status == 422)
            // The same size, another root.
            let same = try AddCheckpointRequest(oldSize: 5, proof: [], checkpoint: try fixture.checkpoint(other, size: 5).bytes)
            #expect(try await W.post(same.bytes, port: port).status == 422)
            // A proof borrowed from the true history does not rescue the rewritten one.
            let borrowed = try AddCheckpointRequest(
                oldSize: 5, proof: try W.tree(9).consistencyProof(from: 5, to: 9),
                checkpoint: try fixture.checkpoint(other, size: 9).bytes)
            #expect(try await W.post(borrowed.bytes, port: port).status == 422)
            // The true history, signed again at the same size, is still cosigned.
            #expect(try await W.post(try fixture.request(tree, old: 5, size: 5), port: port).status == 200)
        }
        #expect(try fixture.witness.latest()?.0.root == tree.root(size: 5))
        let evidence = FileOperations.listFolder(fixture.witness.evidencePath) ?? []
        #expect(evidence.filter { $0.hasSuffix("-fork.checkpoint") }.count >= 1, "\(evidence)")
    }

    @Test func anotherKeyOrAnotherLogIsRefused() async throws {
        let fixture = try W()
        let tree = W.tree(4)
        try await fixture.serving { port in
            let impostor = try AddCheckpointRequest(
                oldSize: 0, proof: [], checkpoint: try fixture.checkpoint(tree, size: 4, signer: "directory-impostor").bytes)
            #expect(try await W.post(impostor.bytes, port: port).status == 403)
            // The network's signature with one byte changed: a signature by the trusted key that fails.
            var broken = try fixture.checkpoint(tree, size: 4).bytes
            broken[broken.count - 5] = broken[broken.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let tampered = try AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: broken)
            #expect(try await W.post(tampered.bytes, port: port).status == 403)
            let key = W.key("directory-network-root")
            let elsewhere = try Checkpoint(origin: "directory.nhs.example/other", size: 4, root: tree.root(size: 4), time: 1)
            let note = try SignedNote.sign(
                elsewhere.text, verifier: try NoteVerifierKey(name: elsewhere.origin, key: key.publicKey), key: key)
            let unknown = try AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: note.bytes)
            #expect(try await W.post(unknown.bytes, port: port).status == 404)
            let empty = try Checkpoint(origin: W.network, size: 0, root: tree.root(size: 4), time: 1)
            let emptyNote = try SignedNote.sign(empty.text, verifier: fixture.verifier, key: key)
            let zero = try AddCheckpointRequest(oldSize: 0, proof: [], checkpoint: emptyNote.bytes)
            #expect(try await W.post(zero.bytes, port: port).status == 422)
        }
        #expect(try fixture.witness.latest() == nil)
    }

    @Test func malformedTruncatedAndHugeBodiesAreRefused() async throws {
        let fixture = try W()
        let tree = W.tree(5)
        let good = try fixture.request(tree, old: 0, size: 5)
        try await fixture.serving { port in
            let checkpoint = try fixture.checkpoint(tree, size: 5).bytes
            for bad in [
                Array("old 0\nnot base64!\n\n".utf8) + checkpoint,
                Array("old 00\n\n".utf8) + checkpoint,
                Array("old -1\n\n".utf8) + checkpoint,
                Array("0\n\n".utf8) + checkpoint,
                Array(("old 0\n" + String(repeating: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", count: 64) + "\n").utf8)
                    + checkpoint,
                Array(good.prefix(good.count - 30)),
                Array("old 0\n".utf8),
                [],
            ] {
                #expect(try await W.post(bad, port: port).status == 400, "\(String(decoding: bad.prefix(40), as: UTF8.self))")
            }
            // A body cut short on the wire (Content-Length says more): never cosigned.
            let head = "POST /add-checkpoint HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(good.count)\r\n\r\n"
            let cut = try await W.raw(Array(head.utf8) + good.prefix(good.count / 2), port: port)
            #expect(!cut.hasPrefix("HTTP/1.1 200"), "\(cut)")
            // Bodies past the limit (a 64 KiB one, and one byte over): the server stops reading at the
            // limit and answers 413, or drops the connection; either way nothing is cosigned.
            for size in [64 * 1024, AddCheckpointRequest.maxLength + 1] {
                let status = try? await W.post([UInt8](repeating: 0x0A, count: size), port: port).status
                #expect(status == nil || status == 413, "\(size) bytes: \(String(describing: status))")
            }
            #expect(try fixture.witness.latest() == nil)
            #expect(try await W.post(good, port: port).status == 200)
        }
    }

    @Test func theRequestParserIsStrictOnEveryPrefix() throws {
        // Every proper prefix of a good body is refused (none is a shorter valid request).
        let fixture = try W()
        let good = try fixture.request(W.tree(6), old: 3, size: 6)
        #expect(try AddCheckpointRequest.parse(good).bytes == good)
        var accepted = 0
        for end in 0..<good.count {
            guard let prefix = try? AddCheckpointRequest.parse(Array(good.prefix(end))) else { continue }
            // A prefix that parses must end inside the checkpoint, which the note parser then refuses.
            #expect(throws: FormatError.self) { try SignedNote.parse(prefix.checkpoint) }
            accepted += 1
        }
        #expect(accepted > 0)
    }
}
