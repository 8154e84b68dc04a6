import Foundation
import GatehouseCrypto
@testable import GatehouseFormat
import GatehouseTesting
import Testing

/// Writes the committed vectors. Runs only with GATEHOUSE_WRITE_VECTORS=1:
/// `GATEHOUSE_WRITE_VECTORS=1 swift test --filter VectorGenerator`.
@Suite("Vector generator")
struct VectorGenerator {
    static let enabled = ProcessInfo.processInfo.environment["GATEHOUSE_WRITE_VECTORS"] == "1"

    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")
    let hub = TestOrganisation("XHM01")
    let rogue = TestOrganisation("A81001", label: "A81001-rogue")

    func write(_ name: String, expect: String, comment: String, bytes: [UInt8], sender: TestOrganisation? = nil,
               recipient: TestOrganisation? = nil, files: [(String, [UInt8])] = []) throws {
        let sender = sender ?? practice
        let recipient = recipient ?? prison
        var fields: [(String, String)] = [
            ("expect", expect), ("comment", comment),
            ("sender", sender.ods.value), ("sender-signing-seed", "\(sender.ods.value)-signing"),
            ("recipient", recipient.ods.value), ("recipient-encryption-seed", "\(recipient.ods.value)-encryption"),
        ]
        for (fileName, content) in files {
            fields.append(("file", "\(content.count) \(SHA256Hasher.hash(content).hex) \(fileName)"))
        }
        let vector = VectorFile(name: name, fields: fields, body: bytes)
        try Data(vector.encoded()).write(to: VectorFile.folder.appendingPathComponent("\(name).vector"))
    }

    /// Replaces the outer signature with the sender's signature over the changed bytes, so a
    /// change inside the encryption reaches the later checks.
    func resign(_ bytes: [UInt8], by org: TestOrganisation) -> [UInt8] {
        let body = Array(bytes.dropLast(64))
        return body + SignatureContext.bundle.sign(SHA256Hasher.hash(body), with: org.signing)
    }

    @Test(.enabled(if: enabled)) func writeVectors() throws {
        let text = Array("<summary nhs=\"9990000018\"><name>Ada Testperson</name><allergy>Penicillin</allergy></summary>\n".utf8)
        let small = [("summary.xml", text)]

        // Good vectors.
        try write("success-single-file", expect: "success", comment: "one small text file", bytes: BundleFixture.seal(small, from: practice, to: [prison]).bytes, files: small)
        let empty = [("empty.txt", [UInt8]())]
        try write("success-empty-file", expect: "success", comment: "a 0-byte file: no blocks", bytes: BundleFixture.seal(empty, from: practice, to: [prison]).bytes, files: empty)
        let boundary = [("scan.pdf", pseudoRandomBytes(65_536, seed: 7))]
        try write("success-chunk-boundary", expect: "success", comment: "random 64 KiB: stored block, stream ends past a chunk boundary", bytes: BundleFixture.seal(boundary, from: practice, to: [prison]).bytes, files: boundary)
        let several = [("medications.csv", recordText(20_000)), ("scan 2.pdf", pseudoRandomBytes(3_000, seed: 3)), ("notes é.txt", Array("réadmission".utf8))]
        try write("success-several-files", expect: "success", comment: "three files, one DEFLATE, one stored, a Unicode name with a space", bytes: BundleFixture.seal(several, from: practice, to: [prison], subject: "Reception screening").bytes, files: several)
        try write("success-second-recipient", expect: "success", comment: "three recipients; opened by the second", bytes: BundleFixture.seal(small, from: practice, to: [hub, prison, practice]).bytes, files: small)
        let large = [("record.xml", recordText(1_500_000))]
        try write("success-two-deflate-blocks", expect: "success", comment: "1.5 MB compressible: two DEFLATE blocks", bytes: BundleFixture.seal(large, from: practice, to: [prison]).bytes, files: large)

        // Bad vectors.
        let good = try BundleFixture.seal(small, from: practice, to: [prison])
        let headerLength = good.sealed.header.encoded().count
        var badMagic = good.bytes; badMagic[3] = 0x32
        try write("malformed-bad-magic", expect: "malformed", comment: "GHB2: an unknown version", bytes: badMagic)
        try write("malformed-truncated-mid-chunk", expect: "malformed", comment: "cut inside the only chunk", bytes: Array(good.bytes.prefix(headerLength + 30)))
        let multi = try BundleFixture.seal(boundary, from: practice, to: [prison])
        try write("malformed-truncated-at-chunk-boundary", expect: "malformed", comment: "cut after the first full chunk: no final chunk", bytes: Array(multi.bytes.prefix(headerLength + 4 + PayloadLayout.fullChunkCiphertext)))
        try write("malformed-trailing-data", expect: "malformed", comment: "one byte after the outer signature", bytes: good.bytes + [0])
        var flipped = good.bytes; flipped[headerLength + 10] ^= 0x01
        try write("authentication-failed-ciphertext-changed", expect: "authentication-failed", comment: "one ciphertext bit flipped", bytes: flipped)
        try write("authentication-failed-resigned-by-other-key", expect: "authentication-failed", comment: "outer signature replaced by another key's", bytes: resign(good.bytes, by: rogue))
        try write("unknown-sender-key-not-pinned", expect: "unknown-sender", comment: "signed by an A81001 key that is not the pinned one", bytes: BundleFixture.seal(small, from: rogue, to: [prison]).bytes)
        try write("not-a-recipient", expect: "not-a-recipient", comment: "sealed to XHM01 only", bytes: BundleFixture.seal(small, from: practice, to: [hub]).bytes)
        var wrapped = good.bytes; wrapped[headerLength - 1] ^= 0x01
        try write("decryption-failed-wrapped-key", expect: "decryption-failed", comment: "wrapped key changed, outer signature redone by the sender", bytes: resign(wrapped, by: practice))
        var commitment = good.bytes; commitment[12 + 1 + 16 + 8 + 7 + 8] ^= 0x01
        try write("decryption-failed-key-commitment", expect: "decryption-failed", comment: "key commitment changed, outer signature redone by the sender", bytes: resign(commitment, by: practice))
        try write("decryption-failed-chunk", expect: "decryption-failed", comment: "ciphertext changed, outer signature redone by the sender", bytes: resign(flipped, by: practice))

        let opened = try BundleFixture.open(good.bytes, as: prison, knowing: [practice])
        let forwarded = try BundleFixture.seal(small, from: prison, to: [hub], bundleID: opened.manifest.bundleID) { $0.hooks.manifest = { _ in opened.manifest.encoded } }
        try write("integrity-check-failed-forwarded", expect: "integrity-check-failed", comment: "YOI123 re-sealed A81001's signed manifest to XHM01 (surreptitious forwarding)",
                  bytes: forwarded.bytes, sender: prison, recipient: hub)
        let wrongDigest = try BundleFixture.seal(small, from: practice, to: [prison]) { sealer in
            sealer.hooks.manifest = { encoded in
                let m = try! Manifest.parse(encoded)
                let files = [ManifestFile(name: "summary.xml", size: UInt64(text.count), sha256: SHA256Hasher.hash([0]), nhsNumber: nil)]
                return try! Manifest.signed(kind: .records, bundleID: m.bundleID, createdAt: m.createdAt, sender: m.sender,
                                            recipients: m.recipients, subject: "", files: files, signingKey: practice.signing).encoded
            }
        }
        try write("integrity-check-failed-digest", expect: "integrity-check-failed", comment: "signed manifest names the wrong SHA-256", bytes: wrongDigest.bytes)
        let otherSigner = try BundleFixture.seal(small, from: practice, to: [prison]) { sealer in
            sealer.hooks.manifest = { encoded in
                let m = try! Manifest.parse(encoded)
                return try! Manifest.signed(kind: .records, bundleID: m.bundleID, createdAt: m.createdAt, sender: m.sender,
                                            recipients: m.recipients, subject: "", files: m.files, signingKey: hub.signing).encoded
            }
        }
        try write("integrity-check-failed-inner-signer", expect: "integrity-check-failed", comment: "manifest signed by XHM01's key inside A81001's bundle", bytes: otherSigner.bytes)

        let bombData = try deflate(Array(repeating: 0, count: 64 << 20))
        let bomb = try BundleFixture.seal([("a.bin", Array(repeating: 0, count: 1 << 20))], from: practice, to: [prison]) { sealer in
            sealer.hooks.block = { _, raw, _ in (.deflate, raw, bombData) }
        }
        try write("decompression-failed-bomb", expect: "decompression-failed", comment: "a block declaring 1 MiB that inflates to 64 MiB", bytes: bomb.bytes)
        let escape = try BundleFixture.seal([("../escape.txt", text)], from: practice, to: [prison]) { $0.hooks.skipTextChecks = true }
        try write("malformed-name-escapes", expect: "malformed", comment: "file name ../escape.txt", bytes: escape.bytes)
        let uncompressed = try BundleFixture.seal(small, from: practice, to: [prison]) { sealer in
            sealer.hooks.block = { _, raw, data in (.deflate, raw, Array(repeating: 0, count: Int(raw))) }
        }
        try write("malformed-block-does-not-shrink", expect: "malformed", comment: "a DEFLATE block no smaller than its raw length", bytes: uncompressed.bytes)
    }

    /// Seeds for the fuzzer: one valid input per parser.
    @Test(.enabled(if: enabled)) func writeFuzzSeeds() throws {
        let corpus = VectorFile.folder.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")
        let (bytes, sealed) = try BundleFixture.seal([("summary.xml", recordText(3000)), ("scan.pdf", pseudoRandomBytes(2000))],
                                                     from: practice, to: [prison, hub], subject: "Seed")
        let receipt = try Receipt.signed(bundleID: sealed.header.bundleID, bundleSender: practice.ods, receiver: prison.ods,
                                         bundleSHA256: sealed.bundleSHA256, receivedAt: 1_795_000_000, disposition: .processed,
                                         manifestSHA256: SHA256Hasher.hash(sealed.manifest.encoded),
                                         fileDigests: sealed.manifest.files.map(\.sha256), signingKey: prison.signing)
        let seeds: [(String, [UInt8])] = [
            ("header", sealed.header.encoded()), ("manifest", sealed.manifest.encoded), ("receipt", receipt.encoded),
            ("file-table", FileTable.encode(sealed.manifest.files.map { FileTableEntry(name: $0.name, size: $0.size) })),
            ("bundle", bytes),
        ]
        for (target, seed) in seeds {
            let dir = corpus.appendingPathComponent(target)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(seed).write(to: dir.appendingPathComponent("seed-1"))
        }
    }

    func deflate(_ data: [UInt8]) throws -> [UInt8] {
        let deflater = BlockDeflater(level: 9)
        var out = [UInt8](repeating: 0, count: deflater.bound(data.count))
        let n = data.withUnsafeBytes { input in out.withUnsafeMutableBytes { deflater.compress(input, into: $0) } }
        return Array(out.prefix(n!))
    }
}
