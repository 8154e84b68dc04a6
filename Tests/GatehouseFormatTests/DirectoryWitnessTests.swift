import GatehouseCrypto
import GatehouseFormat
import Testing

/// Witness cosignatures, C2SP tlog-cosignature v1 with Ed25519 (DIRECTORY.md §10).
@Suite("Directory: witness cosignatures")
struct DirectoryWitnessTests {
    typealias F = DirectoryFixtures
    static let key = CardFixtures.signingKey("witness-1")
    static let witness = try! WitnessKey(name: "witness.nhs.example/w1", key: key.publicKey)

    @Test func theKeyIDAndSignedMessageFollowTheSpecification() throws {
        let expected = SHA256Hasher.hash(Array("witness.nhs.example/w1\n".utf8) + [0x04] + Self.key.publicKey.bytes)
            .bytes
        #expect(Self.witness.keyIDHex == Array(expected.prefix(4)).hexString)
        #expect(try WitnessKey.parse(Self.witness.text) == Self.witness)
        let note = try F.log(2).checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0)
        let line = try WitnessKey.cosign(note.text, time: 1_679_315_147, witness: Self.witness, key: Self.key)
        // timestamp (u64, big-endian) || Ed25519 over "cosignature/v1\ntime T\n" || the checkpoint text.
        #expect(Array(line.signature.prefix(8)) == [0, 0, 0, 0, 0x64, 0x18, 0x50, 0xcb])
        let message = Array("cosignature/v1\ntime 1679315147\n\(note.text)".utf8)
        #expect(Self.key.publicKey.isValidSignature(Array(line.signature.dropFirst(8)), for: message))
        let cosigned = try SignedNote.parse(note.adding(line).bytes)
        #expect(try Self.witness.cosignedTime(cosigned) == 1_679_315_147)
        // The log's own verification ignores the cosignature, as signed-note requires.
        _ = try Checkpoint.open(cosigned.bytes, verifier: F.verifier())
    }

    @Test func aCosignatureOnAnotherCheckpointOrWithAChangedTimeDoesNotCount() throws {
        let note = try F.log(2).checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0)
        let other = try F.log(3).checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0)
        let line = try WitnessKey.cosign(note.text, time: 100, witness: Self.witness, key: Self.key)
        #expect(throws: FormatError.self) { try Self.witness.cosignedTime(other.adding(line)) }
        var stamped = line.signature
        stamped[7] ^= 0x01
        let moved = SignedNote.Signature(name: line.name, keyID: line.keyID, signature: stamped)
        #expect(throws: FormatError.self) { try Self.witness.cosignedTime(note.adding(moved)) }
        #expect(try Self.witness.cosignedTime(note) == nil)
        // A network key's ordinary signature under the witness's name and id is no cosignature.
        #expect(throws: FormatError.self) { try WitnessKey.parse(F.verifier().text) }
    }
}
