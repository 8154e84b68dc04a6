import GatehouseCrypto
@testable import GatehouseFormat
import GatehouseTesting
import Testing

@Suite("Tampering, truncation and forgery")
struct TamperTests {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")
    let outsider = TestOrganisation("XHM01")

    func category(_ body: () throws(FormatError) -> Void) -> FormatError.Category? {
        do { try body(); return nil } catch { return error.category }
    }

    func failure(_ body: () throws(FormatError) -> Void) -> FormatError? {
        do { try body(); return nil } catch { return error }
    }

    @Test func everySingleByteChangeIsRejected() throws {
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("Blood pressure 120/80".utf8))], from: practice, to: [prison])
        #expect(bytes.count < 1000)
        for position in bytes.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var changed = bytes
                changed[position] ^= flip
                let result = category { () throws(FormatError) in _ = try BundleFixture.open(changed, as: prison, knowing: [practice]) }
                #expect(result != nil, "flipping byte \(position) with \(flip) was accepted")
            }
        }
    }

    @Test func truncationAnywhereIsRejected() throws {
        // Three chunks: 64 KiB + 64 KiB + remainder (random content is stored, not deflated).
        let (bytes, sealed) = try BundleFixture.seal([("scan.pdf", pseudoRandomBytes(150_000))], from: practice, to: [prison])
        let headerLength = sealed.header.encoded().count
        let chunk = 4 + PayloadLayout.fullChunkCiphertext
        var cuts = Set([0, 1, 8, 12, headerLength - 1, headerLength, headerLength + 2, bytes.count - 1, bytes.count - 64, bytes.count - 65])
        for k in 1...2 {
            cuts.formUnion([headerLength + k * chunk, headerLength + k * chunk - 1, headerLength + k * chunk + 4, headerLength + k * chunk - 1000])
        }
        for cut in cuts.sorted() {
            let result = category { () throws(FormatError) in _ = try BundleFixture.open(Array(bytes.prefix(cut)), as: prison, knowing: [practice]) }
            #expect(result == .malformed, "cut at \(cut) gave \(String(describing: result))")
        }
    }

    @Test func appendedBytesAreRejected() throws {
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [prison])
        for extra in [[0], [0x47, 0x48], Array(repeating: UInt8(7), count: 5000)] as [[UInt8]] {
            let result = category { () throws(FormatError) in _ = try BundleFixture.open(bytes + extra, as: prison, knowing: [practice]) }
            #expect(result == .malformed)
        }
    }

    @Test func nonRecipientCannotOpen() throws {
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [prison])
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: outsider, knowing: [practice]) } == .notARecipient)
        // Same organisation code but a different (for example rotated-away) key.
        let impostor = TestOrganisation("YOI123", label: "YOI123-other")
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: impostor, knowing: [practice]) } == .notARecipient)
    }

    @Test func unknownSenderIsRefused() throws {
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [prison])
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: prison, knowing: [outsider]) } == .unknownSender)
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: prison, knowing: []) } == .unknownSender)
    }

    @Test func bundleReSignedByAnotherOrganisationIsRefused() throws {
        // The outsider replaces the outer signature with its own over the same bytes.
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [prison])
        let body = Array(bytes.dropLast(64))
        let forged = body + SignatureContext.bundle.sign(SHA256Hasher.hash(body), with: outsider.signing)
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(forged, as: prison, knowing: [practice, outsider]) } == .authenticationFailed)
    }

    @Test func surreptitiousForwardingIsRefused() throws {
        // The practice seals to the prison; the prison decrypts and re-seals the same files and
        // the practice's signed manifest to the outsider under its own outer signature.
        let files = [("summary.xml", recordText(5000))]
        let (original, _) = try BundleFixture.seal(files, from: practice, to: [prison])
        let opened = try BundleFixture.open(original, as: prison, knowing: [practice])
        let (forwarded, _) = try BundleFixture.seal(files, from: prison, to: [outsider], bundleID: opened.manifest.bundleID) { sealer in
            sealer.hooks.manifest = { _ in opened.manifest.encoded }
        }
        let result = failure { () throws(FormatError) in _ = try BundleFixture.open(forwarded, as: outsider, knowing: [practice, prison]) }
        #expect(result?.category == .integrityCheckFailed)
        #expect(result?.detail.contains("but the bundle by") == true, "\(String(describing: result))")
    }

    @Test func aManifestNotNamingTheReaderIsRefused() throws {
        // The practice itself signs both layers, but its manifest names only the prison while
        // the header addresses the outsider: the outsider must not accept a bundle meant for another.
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [outsider]) { sealer in
            sealer.hooks.manifest = { [practice, prison] encoded in
                let m = try! Manifest.parse(encoded)
                return try! Manifest.signed(kind: .records, bundleID: m.bundleID, createdAt: m.createdAt, sender: m.sender,
                                            recipients: [prison.ods], files: m.files, signingKey: practice.signing).encoded
            }
        }
        let result = failure { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: outsider, knowing: [practice]) }
        #expect(result?.category == .integrityCheckFailed)
        #expect(result?.detail.contains("did not address this bundle to") == true, "\(String(describing: result))")
    }

    @Test func innerSignerDifferentFromOuterSignerIsRefused() throws {
        // A manifest genuinely signed by another organisation's key, naming the right recipient.
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [prison]) { sealer in
            sealer.hooks.manifest = { encoded in
                let manifest = try! Manifest.parse(encoded)
                return try! Manifest.signed(kind: .records, bundleID: manifest.bundleID, createdAt: manifest.createdAt,
                                            sender: manifest.sender, recipients: manifest.recipients,
                                            files: manifest.files, signingKey: outsider.signing).encoded
            }
        }
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: prison, knowing: [practice]) } == .integrityCheckFailed)
    }

    @Test func aManifestKindOtherThanRecordsIsMalformed() throws {
        // The kind is read while parsing the manifest (FORMAT.md §3.6): an undefined kind is
        // malformed, as in the header, even when both signatures are good.
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [prison]) { [practice] sealer in
            sealer.hooks.manifest = { encoded in
                var body = Array(encoded.dropLast(64))
                body[4] = 2
                return body + SignatureContext.manifest.sign(SHA256Hasher.hash(body), with: practice.signing)
            }
        }
        let error = failure { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: prison, knowing: [practice]) }
        #expect(error?.category == .malformed && error?.detail.contains("manifest kind 2 is not defined") == true, "\(String(describing: error))")
    }

    @Test func tamperedDigestInSignedManifestIsRefused() throws {
        // The manifest claims a different digest but is signed correctly: digests are checked.
        let (bytes, _) = try BundleFixture.seal([("a.txt", Array("x".utf8))], from: practice, to: [prison]) { sealer in
            sealer.hooks.manifest = { encoded in
                let m = try! Manifest.parse(encoded)
                let wrong = [ManifestFile(name: "a.txt", size: 1, sha256: SHA256Hasher.hash([0x79]))]
                return try! Manifest.signed(kind: .records, bundleID: m.bundleID, createdAt: m.createdAt, sender: m.sender,
                                            recipients: m.recipients, files: wrong, signingKey: practice.signing).encoded
            }
        }
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: prison, knowing: [practice]) } == .integrityCheckFailed)
    }

    @Test("unsafe names are refused when sealing",
          arguments: ["..", ".", "../escape.txt", "a/b.txt", "/etc/passwd", "a\\b", "nul\u{0}byte", "new\nline", "tab\there",
                      ".hidden", " leading", "trailing ", "", "bell\u{7}", "c1\u{85}control", String(repeating: "x", count: 256),
                      ".\u{301}hidden", " \u{301}leading", ".\u{301}"])
    func unsafeNamesRefusedAtSeal(name: String) throws {
        #expect(throws: FormatError.self) {
            _ = try BundleFixture.seal([(name, Array("x".utf8))], from: practice, to: [prison])
        }
    }

    @Test("unsafe names are refused when opening", arguments: ["..", "../escape.txt", "a/b.txt", "/etc/passwd", "nul\u{0}byte", "new\nline", ".\u{301}hidden"])
    func unsafeNamesRefusedAtOpen(name: String) throws {
        let (bytes, _) = try BundleFixture.seal([(name, Array("x".utf8))], from: practice, to: [prison]) { $0.hooks.skipTextChecks = true }
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: prison, knowing: [practice]) } == .malformed)
    }

    @Test func duplicateNamesRefused() throws {
        #expect(throws: FormatError.self) {
            _ = try BundleFixture.seal([("a.txt", [1]), ("a.txt", [2])], from: practice, to: [prison])
        }
    }

    @Test func decompressionBombStopsAtDeclaredSize() throws {
        // The block declares 1 MiB but its DEFLATE stream inflates to 64 MiB.
        let bomb = try deflated(Array(repeating: 0, count: 64 << 20))
        #expect(bomb.count < 1 << 20)
        let (bytes, _) = try BundleFixture.seal([("a.bin", Array(repeating: 0, count: 1 << 20))], from: practice, to: [prison]) { sealer in
            sealer.hooks.block = { _, raw, _ in (.deflate, raw, bomb) }
        }
        let sink = CountingSink()
        let envelope = try BundleVerifier.verify(MemorySource(bytes)) { (_) throws(FormatError) in practice.signing.publicKey }
        #expect(throws: FormatError.self) {
            _ = try BundleOpener(reader: prison.ods).open(envelope, from: MemorySource(bytes), decryptionKey: { _ in
                try AgreementSecretKey(secret: prison.encryption.withSecretBytes { SecretBytes(copying: $0) })
            }, into: sink)
        }
        #expect(sink.written == 0)
        #expect(category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: prison, knowing: [practice]) } == .decompressionFailed)
    }

    @Test func nonCanonicalBlocksAreRefused() throws {
        let content = pseudoRandomBytes(10_000)
        let transforms: [(String, (BlockMethod, UInt32, [UInt8]) -> (BlockMethod, UInt32, [UInt8]))] = [
            ("a DEFLATE block that does not shrink", { _, raw, data in (.deflate, raw, Array(repeating: 0, count: Int(raw))) }),
            ("a stored block shorter than the file", { _, raw, data in (.stored, raw - 1, Array(data.dropLast())) }),
            ("a stored block whose lengths disagree", { _, raw, data in (.stored, raw, Array(data.dropLast())) }),
        ]
        for (what, transform) in transforms {
            let (bytes, _) = try BundleFixture.seal([("a.bin", content)], from: practice, to: [prison]) { $0.hooks.block = transform }
            let result = category { () throws(FormatError) in _ = try BundleFixture.open(bytes, as: prison, knowing: [practice]) }
            #expect(result == .malformed, "\(what) gave \(String(describing: result))")
        }
        // The untouched bundle opens, so the failures above come from the changes.
        let (good, _) = try BundleFixture.seal([("a.bin", content)], from: practice, to: [prison])
        #expect(try BundleFixture.open(good, as: prison, knowing: [practice]).files[0].bytes == content)
    }

    func deflated(_ data: [UInt8]) throws -> [UInt8] {
        let deflater = BlockDeflater(level: 9)
        var out = [UInt8](repeating: 0, count: deflater.bound(data.count))
        let n = data.withUnsafeBytes { input in out.withUnsafeMutableBytes { deflater.compress(input, into: $0) } }
        return Array(out.prefix(n!))
    }
}

/// Counts bytes written, to prove nothing was released.
final class CountingSink: OpenedFileSink {
    var written = 0
    func beginFile(_ entry: FileTableEntry, index: Int) throws {}
    func write(_ bytes: UnsafeRawBufferPointer) throws { written += bytes.count }
    func endFile() throws {}
}
