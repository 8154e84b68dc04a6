import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Testing

/// Runs every published vector in docs/vectors the way docs/vectors/README.md tells another
/// implementation to: the reader holds every card in cards/, decides with the vector's clock
/// which key may have signed (FORMAT.md §5.1), and opens the bundle with the vector's key.
@Suite("Published test vectors (docs/vectors)")
struct VectorTests {
    @Test func goodAndBadVectorsAreRoughlyEqualInNumber() throws {
        let vectors = try VectorFile.all()
        let good = vectors.filter { $0.value("expect") == "success" }.count
        let bad = vectors.count - good
        #expect(good >= 20, "\(good) good vectors")
        // age's rule: at least as many bad vectors as good ones, and not a pile of one kind.
        #expect(bad >= good && bad * 2 <= good * 3, "\(good) good and \(bad) bad vectors")
        let expected = Set(vectors.compactMap { $0.value("expect") })
        #expect(expected == ["success", "malformed", "unknown-sender", "unknown-key", "revoked-key", "expired", "authentication-failed",
                             "not-a-recipient", "decryption-failed", "decompression-failed", "integrity-check-failed"])
    }

    @Test func cardsAreSignedTestCardsForEveryReader() throws {
        let cards = try VectorFile.cards()
        #expect(Set(cards.keys.map(\.value)) == ["A81001", "YOI123", "XHM01"])
        for card in cards.values { #expect(card.name.hasByteSuffix("(TEST KEYS)")) }
    }

    /// The X25519 key of a `recipient-test-key` line (a FORMAT.md §6 key file line).
    static func encryptionKey(_ line: [UInt8]) throws -> AgreementSecretKey {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: line.count, alignment: 1)
        defer { buffer.deallocate() }
        buffer.copyBytes(from: line)
        return try SecretKeyFile.decodeEncryptionKey(UnsafeRawBufferPointer(buffer))
    }

    @Test(arguments: try VectorFile.all().map(\.name))
    func vector(_ name: String) throws {
        let vector = try #require(try VectorFile.all().first { $0.name == name })
        let expect = try #require(vector.value("expect"))
        let clock = try #require(vector.value("now"))
        let now = try #require(RFC3339.parse(clock))
        let reader = try ODSCode(try #require(vector.value("recipient")))
        let keyLine = Array((try #require(vector.value("recipient-test-key")) + "\n").utf8)
        let cards = try VectorFile.cards()
        let outcome: String
        var files: [(name: String, bytes: [UInt8])] = []
        var manifest: Manifest?
        do {
            let envelope = try BundleVerifier.verify(MemorySource(vector.body)) { (header) throws(FormatError) -> SigningPublicKey in
                guard let card = cards[header.sender] else { throw .unknownSender("\(header.sender) is not pinned") }
                return try card.signer(header.senderKeyID, signedAt: header.createdAt, now: now).key
            }
            let sink = CollectingSink()
            manifest = try BundleOpener(reader: reader).open(envelope, from: MemorySource(vector.body), decryptionKey: { id in
                let key = try Self.encryptionKey(keyLine)
                guard id == KeyID(agreement: key.publicKey) else { return nil }
                return key
            }, into: sink)
            files = sink.files
            outcome = "success"
        } catch {
            outcome = error.category.rawValue
        }
        #expect(outcome == expect, "\(name): \(vector.value("comment") ?? "")")
        guard expect == "success", let manifest else { return }
        #expect(manifest.subject.sameBytes(vector.value("subject") ?? ""))
        #expect(manifest.context.workflow.value.sameBytes(try #require(vector.value("workflow"))))
        #expect(manifest.context.nhsNumbers == vector.values("nhs-number"))
        let expected = vector.values("file")
        #expect(files.count == expected.count && manifest.files.count == expected.count)
        for ((file, entry), line) in zip(zip(files, manifest.files), expected) {
            let parts = line.splitBytes(UInt8(ascii: " "), maxSplits: 2).map(String.init)
            try #require(parts.count == 3, "\(name): bad file line \(line.debugDescription)")
            #expect(String(file.bytes.count) == parts[0])
            #expect(SHA256Hasher.hash(file.bytes).hex == parts[1])
            #expect(file.name.sameBytes(parts[2]) && entry.name.sameBytes(parts[2]))
        }
    }
}
