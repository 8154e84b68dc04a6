import GatehouseCrypto
import GatehouseFormat
import Testing

/// A receipt that carries the receiver's directory checkpoint (FORMAT.md §4.1).
@Suite("Receipt: directory checkpoint")
struct ReceiptCheckpointTests {
    typealias F = DirectoryFixtures
    static let key = CardFixtures.signingKey("receipt-checkpoint")

    static func receipt(_ checkpoint: [UInt8]?) throws -> Receipt {
        try Receipt.signed(bundleID: BundleID.random(), bundleSender: try ODSCode("A81001"), receiver: try ODSCode("YOI123"),
                           bundleSHA256: SHA256Hasher.hash([1]), receivedAt: F.t0, disposition: .failed(.duplicate),
                           manifestSHA256: nil, fileDigests: [], directoryCheckpoint: checkpoint, signingKey: key)
    }

    @Test func theCheckpointIsSignedWithTheReceiptAndParsedStrictly() throws {
        let note = try F.log(2).checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0).bytes
        let with = try Self.receipt(note), without = try Self.receipt(nil)
        #expect(with.directoryCheckpoint == note && without.directoryCheckpoint == nil)
        #expect(try Receipt.parse(with.encoded) == with)
        try with.verifySignature(from: try ODSCode("YOI123"), key: Self.key.publicKey, sender: try ODSCode("A81001"))
        // Another checkpoint put in its place breaks the receiver's signature.
        let other = try F.log(3).checkpoint(verifier: F.verifier(), key: F.networkKey(), time: F.t0).bytes
        let body = Array(with.encoded.dropLast(64 + note.count + 3))
        var swapped = body + [1, UInt8(other.count >> 8), UInt8(other.count & 0xFF)] + other + with.signature
        let parsed = try Receipt.parse(swapped)
        #expect(throws: FormatError.self) {
            try parsed.verifySignature(from: try ODSCode("YOI123"), key: Self.key.publicKey, sender: try ODSCode("A81001"))
        }
        // A wrong tag, a length running past the end, a note that is not one, trailing bytes: malformed.
        swapped = body + [2, UInt8(note.count >> 8), UInt8(note.count & 0xFF)] + note + with.signature
        #expect(throws: FormatError.self) { try Receipt.parse(swapped) }
        #expect(throws: FormatError.self) { try Receipt.parse(body + [1, 0xFF, 0xFF] + note + with.signature) }
        #expect(throws: FormatError.self) { try Receipt.parse(body + [1, 0, 3, 0x41, 0x42, 0x43] + with.signature) }
        #expect(throws: FormatError.self) { try Receipt.parse(with.encoded + [0]) }
        #expect(throws: FormatError.self) { try Self.receipt(Array("not a note".utf8)) }
    }
}
