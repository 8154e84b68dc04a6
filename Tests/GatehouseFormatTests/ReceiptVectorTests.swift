import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Testing

/// The published receipt vectors (docs/vectors/receipts, docs/vectors/README.md): each receipt
/// judged by the sender's rule (FORMAT.md §4.2) as `sender`, for a bundle its journal says went
/// to `addressee`, holding every card in docs/vectors/cards at the vector's `now`.
@Suite("Published receipt vectors (docs/vectors/receipts)")
struct ReceiptVectorTests {
    static let folder = VectorFile.folder.appendingPathComponent("receipts")

    static func all() throws -> [VectorFile] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
            $0.hasByteSuffix(".vector")
        }.sorted()
        return try names.map {
            try VectorFile.parse(name: $0, bytes: Array(try Data(contentsOf: folder.appendingPathComponent($0))))
        }
    }

    /// The disposition as a vector's `disposition` line writes it.
    static func text(_ disposition: ReceiptDisposition) -> String {
        switch disposition {
        case .processed: "processed"
        case .failed(let reason): "failed \(reason)"
        case .held(let reason): "held \(reason)"
        }
    }

    @Test(arguments: try ReceiptVectorTests.all().map(\.name))
    func vector(_ name: String) throws {
        let vector = try #require(try Self.all().first { $0.name == name })
        let cards = try VectorFile.cards()
        let addresseeCode = try ODSCode(vector.value("addressee") ?? "")
        let addressee = try #require(cards[addresseeCode])
        let clock = try #require(vector.value("now"))
        let now = try #require(RFC3339.parse(clock))
        let id = try BundleID(hex: vector.value("bundle-id") ?? "")
        let sender = try ODSCode(vector.value("sender") ?? "")
        let outcome: String
        var disposition: String?
        do throws(FormatError) {
            let accepted = try ReceiptAcceptance.check(
                vector.body, id: id, addressee: addressee, sender: sender, now: now)
            disposition = Self.text(accepted.receipt.disposition)
            outcome = "success"
        } catch {
            outcome = error.category.rawValue
        }
        #expect(outcome == vector.value("expect"), "\(name): \(vector.value("comment") ?? "")")
        if outcome == "success" { #expect(disposition == vector.value("disposition"), "\(name)") }
    }

    @Test func heldAndItsBadTwinsAreAllThere() throws {
        let vectors = try Self.all()
        let good = vectors.filter { $0.value("expect") == "success" }
        #expect(
            Set(good.compactMap { $0.value("disposition") })
                == ["processed", "failed authentication-failed", "failed expired", "held unknown-sender"])
        #expect(vectors.count - good.count >= good.count)
    }

    /// The vectors are deterministic (Ed25519 signs deterministically): the committed files are
    /// exactly what the generator writes, so the folder cannot drift from the code.
    @Test func committedVectorsAreTheGeneratedOnes() throws {
        let committed = Dictionary(uniqueKeysWithValues: try Self.all().map { ($0.name, $0.encoded()) })
        let generated = Dictionary(
            uniqueKeysWithValues: try ReceiptVectorWriter().vectors().map { ($0.name, $0.encoded()) })
        #expect(Set(committed.keys) == Set(generated.keys))
        for (name, bytes) in generated { #expect(committed[name] == bytes, "\(name) differs from the generator's") }
        if VectorGenerator.enabled {
            try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
            for (name, bytes) in generated { try Data(bytes).write(to: Self.folder.appendingPathComponent(name)) }
        }
    }
}

/// Writes docs/vectors/receipts (with GATEHOUSE_WRITE_VECTORS=1, as the bundle vectors).
struct ReceiptVectorWriter {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")
    let hub = TestOrganisation("XHM01")
    let id = try! BundleID(hex: "0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    let sent = SHA256Hasher.hash(Array("the exact bundle bytes A81001 sent".utf8))
    static let receivedAt = VectorGenerator.time("2026-11-18T11:00:00Z")

    /// A receipt's bytes, laid out by hand (FORMAT.md §4.1) so that a bad one can be written too.
    func receipt(
        disposition: UInt8, reason: UInt8, sender: TestOrganisation? = nil, receiver: TestOrganisation? = nil,
        signer: TestOrganisation? = nil, digests: [SHA256Digest] = [], flipSignature: Bool = false
    ) -> [UInt8] {
        let signer = signer ?? receiver ?? prison
        var body = Receipt.magic + id.bytes
        for org in [(sender ?? practice).ods, (receiver ?? prison).ods] {
            body += [UInt8(org.value.utf8.count)] + Array(org.value.utf8)
        }
        body += KeyID(signing: signer.signing.publicKey).bytes + sent.bytes
        body += withUnsafeBytes(of: Self.receivedAt.bigEndian, Array.init)
        body += [disposition, reason]
        body += digests.isEmpty ? [UInt8](repeating: 0, count: 32) : SHA256Hasher.hash(Array("manifest".utf8)).bytes
        body += [UInt8(digests.count >> 8), UInt8(digests.count & 0xFF)] + digests.flatMap(\.bytes)
        var signature = SignatureContext.receipt.sign(SHA256Hasher.hash(body), with: signer.signing)
        if flipSignature { signature[10] ^= 0x01 }
        return body + signature
    }

    func vector(
        _ name: String, _ expect: String, _ comment: String, _ bytes: [UInt8], disposition: String? = nil
    ) -> VectorFile {
        var fields = [
            ("expect", expect), ("comment", comment), ("now", "2026-11-18T12:00:00Z"), ("sender", "A81001"),
            ("addressee", "YOI123"), ("bundle-id", id.hex),
        ]
        if let disposition { fields.append(("disposition", disposition)) }
        return VectorFile(name: name + ".vector", fields: fields, body: bytes)
    }

    func vectors() throws -> [VectorFile] {
        let files = (1...3).map { SHA256Hasher.hash([UInt8($0)]) }
        return [
            vector(
                "success-processed", "success", "YOI123 published the three files of A81001's bundle",
                receipt(disposition: 1, reason: 0, digests: files),
                disposition: "processed"),
            vector(
                "success-failed-authentication-failed", "success",
                "YOI123 refused the bundle: its signature did not verify",
                receipt(disposition: 2, reason: 1), disposition: "failed authentication-failed"),
            vector(
                "success-held-unknown-sender", "success",
                "YOI123 holds the bundle unopened: it has not pinned A81001's card (not final)",
                receipt(disposition: 3, reason: 5), disposition: "held unknown-sender"),
            vector(
                "success-failed-expired", "success", "the final receipt of a held bundle nobody released in time",
                receipt(disposition: 2, reason: 7), disposition: "failed expired"),
            vector(
                "malformed-held-reason-expired", "malformed", "held gives unknown-sender as its reason, nothing else",
                receipt(disposition: 3, reason: 7)),
            vector(
                "malformed-held-reason-zero", "malformed", "held without a reason", receipt(disposition: 3, reason: 0)),
            vector(
                "malformed-held-with-digests", "malformed", "a held receipt carries no manifest or file digests",
                receipt(disposition: 3, reason: 5, digests: files)),
            vector(
                "malformed-disposition-4", "malformed", "disposition 4 is not defined",
                receipt(disposition: 4, reason: 5)),
            vector(
                "authentication-failed-held-from-non-addressee", "authentication-failed",
                "XHM01 signs a held receipt with its own key for a bundle A81001 sent to YOI123",
                receipt(disposition: 3, reason: 5, receiver: hub)),
            vector(
                "unknown-key-held-signed-by-other-key", "unknown-key",
                "names YOI123 as receiver but is signed with XHM01's key, which YOI123's manifest does not name",
                receipt(disposition: 3, reason: 5, signer: hub)),
            vector(
                "authentication-failed-held-bad-signature", "authentication-failed", "one bit of the signature changed",
                receipt(disposition: 3, reason: 5, flipSignature: true)),
            vector(
                "integrity-check-failed-held-for-other-sender", "integrity-check-failed",
                "a held receipt about a bundle XHM01 sent, matched to A81001's",
                receipt(disposition: 3, reason: 5, sender: hub)),
        ]
    }
}
