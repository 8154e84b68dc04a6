import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Testing

/// The bundle header's extensions (FORMAT.md §3.1): the sender's directory checkpoint, signed
/// with the header, and every way a sender or a relay could get the field wrong.
@Suite("Bundle header: directory checkpoint extension")
struct HeaderExtensionTests {
    typealias F = DirectoryFixtures
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")

    static let note = try! F.log(2).checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0).bytes

    func sealed(_ checkpoint: [UInt8]?) throws -> (bytes: [UInt8], header: [UInt8]) {
        let (bytes, sealed) = try BundleFixture.seal([("a.txt", [1, 2, 3])], from: practice, to: [prison]) {
            $0.directoryCheckpoint = checkpoint
        }
        return (bytes, sealed.header.encoded())
    }

    /// The header without extensions followed by `tail`, with `header_length` set to match.
    func header(withTail tail: [UInt8]) throws -> [UInt8] {
        let plain = try sealed(nil).header
        let total = plain.count + tail.count
        return Array(plain.prefix(8)) + [UInt8(total >> 24), UInt8(total >> 16 & 0xFF), UInt8(total >> 8 & 0xFF),
                                         UInt8(total & 0xFF)] + Array(plain.dropFirst(12)) + tail
    }

    func field(_ note: [UInt8], tag: UInt8 = 1, length: Int? = nil) -> [UInt8] {
        let n = length ?? note.count
        return [tag, UInt8(n >> 8), UInt8(n & 0xFF)] + note
    }

    @Test func theCheckpointTravelsSignedAndTheBundleOpens() throws {
        let (bytes, header) = try sealed(Self.note)
        let (plainBytes, plain) = try sealed(nil)
        // Exactly the field after the last stanza; without it, the header of earlier versions.
        #expect(header.count == plain.count + 3 + Self.note.count)
        #expect(Array(header.suffix(Self.note.count + 3)) == field(Self.note))
        let parsed = try #require(try BundleHeader.parse(bytes[...]))
        #expect(parsed.header.directoryCheckpoint == Self.note && parsed.length == header.count)
        #expect(try BundleHeader.parse(plainBytes[...])?.header.directoryCheckpoint == nil)
        let opened = try BundleFixture.open(bytes, as: prison, knowing: [practice])
        #expect(opened.envelope.header.directoryCheckpoint == Self.note)
        #expect(opened.files.first?.bytes == [1, 2, 3])
        // Fed one byte at a time, the parser asks for more until the extension is complete.
        for n in stride(from: 0, to: header.count, by: 7) {
            #expect(try BundleHeader.parse(header.prefix(n)) == nil, "prefix \(n)")
        }
    }

    @Test func aRelayCannotStripOrSwapTheCheckpoint() throws {
        // The extension is under the outer signature: the header without it, or with another
        // network-signed checkpoint, does not verify.
        let (bytes, header) = try sealed(Self.note)
        let payload = Array(bytes.dropFirst(header.count))
        let other = try F.log(3).checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0).bytes
        for tail in [[], field(other)] {
            let changed = try self.header(withTail: tail) + payload
            #expect(throws: FormatError.self) { _ = try BundleFixture.open(changed, as: prison, knowing: [practice]) }
        }
    }

    @Test func aMalformedExtensionIsRefused() throws {
        let note = Self.note
        let otherText = try SignedNote.sign("not a checkpoint\n", verifier: F.verifier(), key: F.networkKey()).bytes
        let cases: [(String, [UInt8])] = [
            ("tag 2", field(note, tag: 2)),
            ("tag 0", field(note, tag: 0)),
            ("truncated: the length runs past the header", field(note, length: note.count + 1)),
            ("truncated: the length field cut", [1, 0]),
            ("truncated: the tag alone", [1]),
            ("length 0", [1, 0, 0]),
            ("oversized: 16385 bytes", field(Array(repeating: 0x41, count: 16_385))),
            ("the same extension twice", field(note) + field(note)),
            ("a byte after the extension", field(note) + [0]),
            ("not a signed note", field(Array("directory.nhs.example/test\n1\n".utf8))),
            ("a note whose text is not a checkpoint", field(otherText)),
            ("a note not in its one spelling (CRLF)", field(Array(String(decoding: note, as: UTF8.self)
                .replacingOccurrences(of: "\n", with: "\r\n").utf8))),
        ]
        for (what, tail) in cases {
            let header = try self.header(withTail: tail)
            #expect(throws: FormatError.self, "\(what)") { _ = try BundleHeader.parse(header[...]) }
        }
        // A sealer refuses to carry what a reader would refuse.
        for bad in [[], Array("hello".utf8), otherText.dropLast(1) + [0x0A, 0x0A]] {
            #expect(throws: FormatError.self) { _ = try sealed(Array(bad)) }
        }
    }

    @Test func aCheckpointByAnotherKeyParsesButIsNotTheNetworks() throws {
        // The format cannot know the network's key: a forged checkpoint parses, and the gateway
        // refuses it when it compares (DirectoryClientGossip tests), so it proves nothing.
        let forged = try F.log(2).checkpoint(
            verifier: F.verifier("impostor"), key: F.networkKey("impostor"), time: F.t0)
        let (bytes, _) = try sealed(forged.bytes)
        let header = try #require(try BundleHeader.parse(bytes[...])).header
        #expect(header.directoryCheckpoint == forged.bytes)
        #expect(throws: FormatError.self) { _ = try Checkpoint.open(forged.bytes, verifier: F.verifier()) }
        // One flipped signature bit: still a note, not the network's.
        let note = try SignedNote.parse(Self.note)
        var signature = note.signatures[0].signature
        signature[10] ^= 0x01
        let id = note.signatures[0].keyID
        let keyID = [UInt8(id >> 24), UInt8(id >> 16 & 0xFF), UInt8(id >> 8 & 0xFF), UInt8(id & 0xFF)]
        let line = Base64.encode(keyID + signature)
        let bad = Array((note.text + "\n\u{2014} \(note.signatures[0].name) \(line)\n").utf8)
        #expect(try SignedNote.parse(bad).bytes == bad)
        let parsed = try #require(try BundleHeader.parse(try self.header(withTail: field(bad))[...])).header
        #expect(throws: FormatError.self) {
            _ = try Checkpoint.open(parsed.directoryCheckpoint!, verifier: F.verifier())
        }
    }

    @Test func thePublishedVectorsCarryTheDirectoryVectorsCheckpoints() throws {
        // docs/vectors/README.md: a reader finds the note, byte for byte, in the header.
        let directory = VectorFile.folder.appendingPathComponent("directory")
        for (vector, note) in [("success-directory-checkpoint", "log/checkpoint"),
                               ("success-directory-checkpoint-cosigned", "log/witness/f0d116dd")] {
            let file = try #require(try VectorFile.all().first { $0.name == vector + ".vector" })
            let expected = Array(try Data(contentsOf: directory.appendingPathComponent(note)))
            #expect(try BundleHeader.parse(file.body[...])?.header.directoryCheckpoint == expected, "\(vector)")
        }
    }
}
