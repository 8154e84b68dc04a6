import Foundation
import GatehouseCrypto
@testable import GatehouseFormat
import GatehouseTesting
import Testing

/// Runs every committed vector the way a second implementation would: keys from the labels,
/// the sender pinned, the bundle opened as the recipient.
@Suite("Committed test vectors")
struct VectorTests {
    @Test func vectorsExistGoodAndBad() throws {
        let vectors = try VectorFile.all()
        let good = vectors.filter { $0.value("expect") == "success" }.count
        #expect(good >= 5)
        #expect(vectors.count - good >= good, "there should be at least as many bad vectors as good ones")
    }

    @Test(arguments: try VectorFile.all().map(\.name))
    func vector(_ name: String) throws {
        let vector = try #require(try VectorFile.all().first { $0.name == name })
        let expect = try #require(vector.value("expect"))
        let sender = try ODSCode(try #require(vector.value("sender")))
        let pinned = try SigningSecretKey(seed: TestOrganisation.testSeed(try #require(vector.value("sender-signing-seed")))).publicKey
        let reader = try ODSCode(try #require(vector.value("recipient")))
        let secretLabel = try #require(vector.value("recipient-encryption-seed"))
        let outcome: String
        var files: [(name: String, bytes: [UInt8])] = []
        do {
            let envelope = try BundleVerifier.verify(MemorySource(vector.body)) { (header) throws(FormatError) -> SigningPublicKey in
                guard header.sender == sender, header.senderKeyID == KeyID(signing: pinned) else {
                    throw .unknownSender("\(header.sender) key \(header.senderKeyID) is not pinned")
                }
                return pinned
            }
            let sink = CollectingSink()
            _ = try BundleOpener(reader: reader).open(envelope, from: MemorySource(vector.body), decryptionKey: { id in
                let key = try AgreementSecretKey(secret: TestOrganisation.testSeed(secretLabel))
                guard id == KeyID(agreement: key.publicKey) else { return nil }
                return key
            }, into: sink)
            files = sink.files
            outcome = "success"
        } catch {
            outcome = error.category.rawValue
        }
        #expect(outcome == expect, "\(name): \(vector.value("comment") ?? "")")
        if expect == "success" {
            let expected = vector.values("file")
            #expect(files.count == expected.count)
            for (file, line) in zip(files, expected) {
                let parts = line.split(separator: " ", maxSplits: 2).map(String.init)
                try #require(parts.count == 3, "\(name): bad file line \(line.debugDescription)")
                #expect(String(file.bytes.count) == parts[0])
                #expect(SHA256Hasher.hash(file.bytes).hex == parts[1])
                #expect(file.name == parts[2] && Array(file.name.utf8) == Array(parts[2].utf8))
            }
        }
    }
}
