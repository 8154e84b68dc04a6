import GatehouseCrypto
@testable import GatehouseFormat
import GatehouseTesting
import Testing

/// The one-pass opener (FORMAT.md §3.10, "Opening in one pass") against the literal two-pass
/// reading: the same verdict for every damaged, truncated, extended or forged bundle, the same
/// files for every good one, and no more than its allowance written before the outer signature.
@Suite("Opening in one pass")
struct OnePassOpenerTests {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")
    let outsider = TestOrganisation("XHM01")

    /// The verdict of each reading: the files, or the failure's category.
    enum Verdict: Equatable {
        case opened([String], [[UInt8]])
        case refused(FormatError.Category)
    }

    func verdicts(_ bytes: [UInt8], as reader: TestOrganisation? = nil) -> [Verdict] {
        let reader = reader ?? prison
        func verdict(_ body: () throws(FormatError) -> [(name: String, bytes: [UInt8])]) -> Verdict {
            do {
                let files = try body()
                return .opened(files.map(\.name), files.map(\.bytes))
            } catch {
                return .refused(error.category)
            }
        }
        return [
            verdict { () throws(FormatError) in try BundleFixture.openInTwoPasses(bytes, as: reader, knowing: [practice]).files },
            verdict { () throws(FormatError) in try BundleFixture.open(bytes, as: reader, knowing: [practice]).files },
            // With no allowance at all: every plaintext byte waits for the signature (pause and resume).
            verdict { () throws(FormatError) in
                try BundleFixture.open(bytes, as: reader, knowing: [practice], allowance: .init(floor: 0, ratio: 0)).files
            },
        ]
    }

    func expectAgreement(_ bytes: [UInt8], _ what: String, as reader: TestOrganisation? = nil) {
        let found = verdicts(bytes, as: reader)
        #expect(found[1] == found[0] && found[2] == found[0], "\(what): two passes \(found[0]), one pass \(found[1]), paused \(found[2])")
    }

    @Test func everySingleByteChangeGetsTheTwoPassVerdict() throws {
        let (bytes, _) = try BundleFixture.seal(
            [("summary.txt", Array(String(repeating: "Blood pressure 120/80. ", count: 40).utf8)), ("b.txt", [1, 2, 3])],
            from: practice, to: [prison, outsider])
        expectAgreement(bytes, "the bundle as sealed")
        for position in bytes.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var changed = bytes
                changed[position] ^= flip
                expectAgreement(changed, "byte \(position) ^ \(flip)")
            }
        }
    }

    @Test func truncatedExtendedAndLargeBundlesGetTheTwoPassVerdict() throws {
        // Three chunks of stored (random) bytes and a deflated text.
        let text = Array(String(repeating: "Allergies: none known. ", count: 5000).utf8)
        let (bytes, sealed) = try BundleFixture.seal(
            [("scan.pdf", pseudoRandomBytes(150_000)), ("notes.txt", text)], from: practice, to: [prison])
        expectAgreement(bytes, "the bundle as sealed")
        let header = sealed.header.encoded().count, chunk = 4 + PayloadLayout.fullChunkCiphertext
        var cuts = Set([0, 12, header - 1, header, header + 5, bytes.count - 1, bytes.count - 64, bytes.count - 65])
        for k in 1...2 { cuts.formUnion([header + k * chunk - 1, header + k * chunk, header + k * chunk + 4]) }
        for cut in cuts.sorted() { expectAgreement(Array(bytes.prefix(cut)), "cut at \(cut)") }
        expectAgreement(bytes + [0], "a byte appended")
        // A byte changed inside each chunk's ciphertext, its frame and the signature.
        for position in [header + 2, header + 100, header + chunk + 7, header + 2 * chunk + 1000, bytes.count - 70, bytes.count - 3] {
            var changed = bytes
            changed[position] ^= 0x40
            expectAgreement(changed, "byte \(position)")
        }
        // Chunks swapped, one dropped, one repeated.
        let body = Array(bytes[header..<(bytes.count - 64)])
        let chunks = stride(from: 0, to: body.count, by: chunk).map { Array(body[$0..<min(body.count, $0 + chunk)]) }
        let prefix = Array(bytes.prefix(header)), signature = Array(bytes.suffix(64))
        for (what, order) in [("swapped", [1, 0, 2, 3]), ("dropped", [0, 2, 3]), ("repeated", [0, 1, 1, 2, 3])]
        where order.allSatisfy({ $0 < chunks.count }) {
            expectAgreement(prefix + order.flatMap { chunks[$0] } + signature, "chunks \(what)")
        }
    }

    @Test func aReaderThatIsNotARecipientOrHoldsAnotherKeyGetsTheTwoPassVerdict() throws {
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [prison])
        expectAgreement(bytes, "an outsider", as: outsider)
        expectAgreement(bytes, "a rotated-away key", as: TestOrganisation("YOI123", label: "YOI123-other"))
    }

    /// The insider's attack on opening before the signature: a bundle whose contents decrypt
    /// (any relay user can seal to the prison's public key, or take a good bundle) but whose outer
    /// signature is not the sender's, built to inflate enormously. It is refused as forged, and
    /// what reached staging before that stayed within the allowance.
    @Test func aForgedBombIsRefusedAfterWritingNoMoreThanTheAllowance() throws {
        let zeros = [UInt8](repeating: 0, count: 96 << 20)  // 96 MiB of zeros: about 100 KB deflated
        let (bytes, _) = try BundleFixture.seal([("bomb.bin", zeros)], from: practice, to: [prison])
        #expect(bytes.count < 1 << 20)
        var forged = bytes
        forged[forged.count - 1] ^= 1  // the outer signature no longer verifies
        let sink = CountingSink()
        let allowance = OnePassOpener.Allowance.standard
        do {
            _ = try OnePassOpener(reader: prison.ods).open(
                MemorySource(forged), senderKey: { _ in practice.signing.publicKey },
                decryptionKey: { _ in try prison.agreementSecret() }, into: sink)
            Issue.record("a forged bundle was opened")
        } catch {
            #expect(error.category == .authenticationFailed)
        }
        // The floor, plus at most the blocks one 8 KiB piece of plaintext holds (8 × 1 MiB).
        #expect(sink.written > 0 && UInt64(sink.written) <= allowance.floor + 8 << 20, "\(sink.written) bytes written before the verdict")

        // The same bundle, signed: it pauses at the allowance and opens whole after the signature.
        let whole = CountingSink()
        let opened = try OnePassOpener(reader: prison.ods).open(
            MemorySource(bytes), senderKey: { _ in practice.signing.publicKey },
            decryptionKey: { _ in try prison.agreementSecret() }, into: whole)
        #expect(opened.paused && whole.written == zeros.count)
        #expect(opened.manifest.files.first?.sha256 == SHA256Hasher.hash(zeros))
    }

    /// A record that compresses as records do opens in one pass: every chunk decrypted before
    /// the signature, none read twice.
    @Test func anOrdinaryRecordIsDecryptedAsItIsRead() throws {
        let text = Array(String(repeating: "Medication review: amlodipine 5 mg once daily. ", count: 40_000).utf8)
        let (bytes, _) = try BundleFixture.seal([("review.txt", text), ("scan.pdf", pseudoRandomBytes(300_000))],
                                                from: practice, to: [prison])
        let sink = CountingSink()
        let opened = try OnePassOpener(reader: prison.ods).open(
            MemorySource(bytes), senderKey: { _ in practice.signing.publicKey },
            decryptionKey: { _ in try prison.agreementSecret() }, into: sink)
        #expect(!opened.paused && opened.chunksBeforeSignature == opened.envelope.chunkCount && opened.envelope.chunkCount > 3)
        #expect(sink.written == text.count + 300_000)
    }
}

extension TestOrganisation {
    /// This organisation's X25519 secret, as a gateway loads it.
    func agreementSecret() throws -> AgreementSecretKey {
        try AgreementSecretKey(secret: encryption.withSecretBytes { SecretBytes(copying: $0) })
    }
}
