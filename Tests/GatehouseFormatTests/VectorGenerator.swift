import Foundation
import GatehouseCrypto
@testable import GatehouseFormat
import GatehouseTesting
import Testing

/// Writes the published vectors and cards in docs/vectors. Runs only with
/// GATEHOUSE_WRITE_VECTORS=1: `GATEHOUSE_WRITE_VECTORS=1 swift test --filter VectorGenerator`.
/// Every key is a test key derived from a public label (docs/vectors/README.md).
@Suite("Vector generator")
struct VectorGenerator {
    static let enabled = ProcessInfo.processInfo.environment["GATEHOUSE_WRITE_VECTORS"] == "1"

    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")
    let hub = TestOrganisation("XHM01")
    /// Keys that are not, or no longer, A81001's current signing key.
    let rogue = TestOrganisation("A81001", label: "A81001-rogue")
    let previous = TestOrganisation("A81001", label: "A81001-2025")
    let stolen = TestOrganisation("A81001", label: "A81001-stolen")

    static func time(_ text: String) -> UInt64 { RFC3339.parse(text)! }
    /// When the cards were signed, and when their keys and manifests expire.
    static let cardsCreated = time("2026-11-01T00:00:00Z")
    static let cardsExpire = time("2027-11-01T00:00:00Z")
    /// A81001's previous signing key, replaced when the cards were signed, honoured until then.
    static let graceEnds = time("2026-11-15T00:00:00Z")
    /// A81001's stolen signing key, revoked then.
    static let revokedAt = time("2026-03-01T00:00:00Z")
    /// The reader's clock unless a vector says otherwise: shortly after ``BundleFixture/createdAt``.
    static let now = time("2026-11-18T12:00:00Z")

    // MARK: Cards

    func card(for org: TestOrganisation, name: String) throws -> IdentityCard {
        var keys = [
            ManifestKeyRecord(key: .signing(org.signing.publicKey), from: Self.cardsCreated, state: .current(until: Self.cardsExpire)),
            ManifestKeyRecord(key: .encryption(org.encryption.publicKey), from: Self.cardsCreated, state: .current(until: Self.cardsExpire)),
        ]
        if org.ods == practice.ods {
            keys.append(ManifestKeyRecord(key: .signing(previous.signing.publicKey), from: Self.time("2025-11-01T00:00:00Z"),
                                          state: .superseded(at: Self.cardsCreated, until: Self.graceEnds)))
            keys.append(ManifestKeyRecord(key: .signing(stolen.signing.publicKey), from: Self.time("2025-06-01T00:00:00Z"),
                                          state: .revoked(at: Self.revokedAt, reason: .compromised)))
        }
        let manifest = KeyManifest(version: org.ods == practice.ods ? 3 : 1, created: Self.cardsCreated, expires: Self.cardsExpire, keys: keys)
        let root = try SigningSecretKey(seed: TestOrganisation.testSeed("\(org.ods.value)-root"))
        return try IdentityCard.make(org: org.ods, name: "\(name) (TEST KEYS)", root: root, manifest: manifest)
    }

    // MARK: Bundles

    struct Input {
        var name: String
        var bytes: [UInt8]
    }

    /// Seals `files` from `sender` (signed with `key`'s signing key, default the sender's own).
    func seal(_ files: [Input], from sender: TestOrganisation, signedBy key: TestOrganisation? = nil, to recipients: [TestOrganisation],
              context: PackContext = PackContext(), createdAt: UInt64 = BundleFixture.createdAt, bundleID: BundleID = .random(),
              hooks: ((inout BundleSealer) -> Void)? = nil) throws -> [UInt8] {
        var sealer = BundleSealer(sender: sender.ods, recipients: recipients.map(\.recipient), context: context)
        hooks?(&sealer)
        let sink = MemorySink()
        let inputs = files.map { SealInput(name: $0.name, size: UInt64($0.bytes.count), source: MemorySource($0.bytes)) }
        _ = try sealer.seal(bundleID: bundleID, createdAt: createdAt, files: inputs, signingKey: (key ?? sender).signing, to: sink)
        return sink.bytes
    }

    /// Writes `<name>.vector`: opened by `recipient` at `now`, expecting `expect`; for success,
    /// `files` and `context` are what must come out.
    func write(_ name: String, _ expect: String, _ comment: String, _ bytes: [UInt8], recipient: TestOrganisation? = nil,
               now: UInt64 = now, files: [Input] = [], context: PackContext = PackContext()) throws {
        let recipient = recipient ?? prison
        let key = SecretKeyFile.encode(encryption: recipient.encryption).withUnsafeBytes { String(decoding: $0.dropLast(), as: UTF8.self) }
        var fields: [(String, String)] = [
            ("expect", expect), ("comment", comment), ("now", RFC3339.format(now)!),
            ("recipient", recipient.ods.value), ("recipient-test-key", key),
        ]
        if expect == "success" {
            if !context.subject.isEmpty { fields.append(("subject", context.subject)) }
            fields.append(("workflow", context.workflow.value))
            for number in context.nhsNumbers { fields.append(("nhs-number", number)) }
            for file in files {
                fields.append(("file", "\(file.bytes.count) \(SHA256Hasher.hash(file.bytes).hex) \(file.name)"))
            }
        }
        let vector = VectorFile(name: name, fields: fields, body: bytes)
        try Data(vector.encoded()).write(to: VectorFile.folder.appendingPathComponent("\(name).vector"))
    }

    /// Replaces the outer signature with `org`'s signature over the changed bytes, so a change
    /// inside the encryption reaches the later checks.
    func resign(_ bytes: [UInt8], by org: TestOrganisation) -> [UInt8] {
        let body = Array(bytes.dropLast(64))
        return body + SignatureContext.bundle.sign(SHA256Hasher.hash(body), with: org.signing)
    }

    @Test(.enabled(if: enabled)) func writeVectors() throws {
        let folder = VectorFile.folder
        for old in try FileManager.default.contentsOfDirectory(atPath: folder.path) where old.hasByteSuffix(".vector") {
            try FileManager.default.removeItem(at: folder.appendingPathComponent(old))
        }
        try FileManager.default.createDirectory(at: VectorFile.cardFolder, withIntermediateDirectories: true)
        for (org, name) in [(practice, "Riverside Medical Practice"), (prison, "HMYOI Northgate Healthcare"), (hub, "Regional Hub")] {
            try Data(try card(for: org, name: name).text.utf8).write(to: VectorFile.cardFolder.appendingPathComponent("\(org.ods.value).card"))
        }
        try writeGoodVectors()
        try writeBadVectors()
        try writeUnicodeVectors()
        try writeHeaderExtensionVectors()
    }

    func writeGoodVectors() throws {
        let summary = [Input(name: "summary.xml", bytes: Array("<summary nhs=\"9990000018\"><name>Ada Testperson</name></summary>\n".utf8))]
        func good(_ name: String, _ comment: String, _ files: [Input], to recipients: [TestOrganisation]? = nil, reader: TestOrganisation? = nil,
                  subject: String = "", context: PackContext? = nil, signedBy key: TestOrganisation? = nil,
                  createdAt: UInt64 = BundleFixture.createdAt, now: UInt64 = Self.now) throws {
            let context = context ?? PackContext(subject: subject)
            let bytes = try seal(files, from: practice, signedBy: key, to: recipients ?? [prison], context: context, createdAt: createdAt)
            try write("success-\(name)", "success", comment, bytes, recipient: reader, now: now, files: files, context: context)
        }
        try good("single-file", "one small text file", summary)
        try good("empty-file", "a 0-byte file: no blocks", [Input(name: "empty.txt", bytes: [])])
        try good("chunk-boundary", "random 64 KiB: a stored block, the stream ends past a chunk boundary",
                 [Input(name: "scan.pdf", bytes: pseudoRandomBytes(65_536, seed: 7))])
        try good("several-files", "three files, one DEFLATE, one stored, a Unicode name with a space", [
            Input(name: "medications.csv", bytes: recordText(20_000)), Input(name: "scan 2.pdf", bytes: pseudoRandomBytes(3_000, seed: 3)),
            Input(name: "notes é.txt", bytes: Array("réadmission".utf8)),
        ], subject: "Reception screening")
        try good("second-recipient", "three recipients; opened by the second", summary, to: [hub, prison, practice])
        try good("32-recipients", "32 stanzas with nine-letter codes; opened by the last",
                 summary, to: (1...31).map { TestOrganisation(String(format: "RECIP%04d", $0)) } + [prison])
        try good("own-bundle", "opened by its sender through the self stanza, with its own card", summary, to: [prison, practice], reader: practice)
        try good("two-deflate-blocks", "1.5 MB compressible: two DEFLATE blocks", [Input(name: "record.xml", bytes: recordText(1_500_000))])
        try good("block-boundary-plus-one", "1 MiB + 1 byte: a full block, then a block of one byte",
                 [Input(name: "record.xml", bytes: recordText(1 << 20) + [0x0A])])
        try good("deflate-then-stored", "one file: a compressible first MiB (DEFLATE), a random remainder (stored)",
                 [Input(name: "export.bin", bytes: recordText(1 << 20) + pseudoRandomBytes(20_000, seed: 11))])
        try good("nhs-numbers", "a reception pack: subject, workflow and two NHS numbers", [
            Input(name: "gp-record.xml", bytes: recordText(3_000)), Input(name: "letter.txt", bytes: Array("Dear colleague".utf8)),
            Input(name: "allergies.txt", bytes: Array("Penicillin".utf8)),
        ], context: PackContext(subject: "Reception: Ada Testperson", workflow: try Workflow("reception-summary"),
                                nhsNumbers: ["9990000018", "9990000026"]))
        try good("longest-workflow", "a 32-byte workflow id with digits and hyphens", summary,
                 context: PackContext(workflow: try Workflow("gp2gp-v3-" + String(repeating: "x", count: 22) + "1")))
        try good("64-nhs-numbers", "a pack naming 64 NHS numbers, the most a manifest holds", summary,
                 context: PackContext(nhsNumbers: Self.validNHSNumbers(64)))
        try good("longest-name", "a 255-byte name of two-byte letters",
                 [Input(name: String(repeating: "é", count: 127) + "x", bytes: Array("x".utf8))])
        try good("longest-subject", "a 1024-byte subject", summary, subject: String(repeating: "é", count: 512))
        try good("unicode-subject", "a subject with accents, a dash, quotes and a backslash", summary,
                 subject: #"Réception — dépistage, "Ward 3" \ on call"#)
        try good("right-to-left-text", "Hebrew and Arabic names and subject: right-to-left letters, no bidirectional controls",
                 [Input(name: "מכתב שחרור.pdf", bytes: Array("letter".utf8)), Input(name: "تقرير.txt", bytes: Array("report".utf8))],
                 subject: "סיכום שחרור")
        try good("combining-mark-name", "a name that starts with U+0301 COMBINING ACUTE ACCENT",
                 [Input(name: "\u{301}abc", bytes: Array("hello".utf8))])
        try good("distinct-unicode-names", "names that differ in more than case: i and dotless ı, Greek, Hebrew, emoji, private use", [
            "i.txt", "\u{131}.txt", "ΣΊΣΥΦΟΣ.txt", "מכתב.pdf", "📄 summary.txt", "café.txt", "\u{E000}.bin",
        ].map { Input(name: $0, bytes: Array($0.utf8)) })
        try good("signed-just-before-revocation", "signed by A81001's revoked key one second before its revocation (no skew for revoked keys)",
                 summary, signedBy: stolen, createdAt: Self.revokedAt - 1)
        try good("superseded-key-in-grace", "signed by A81001's superseded key before it was replaced, read during the grace window",
                 summary, signedBy: previous, createdAt: Self.time("2026-10-31T00:00:00Z"), now: Self.time("2026-11-10T00:00:00Z"))
        try good("superseded-key-skew-edge", "signed by the superseded key 300 s (the skew) after it was replaced",
                 summary, signedBy: previous, createdAt: Self.cardsCreated + KeyManifest.clockSkew, now: Self.time("2026-11-10T00:00:00Z"))
        try good("grace-window-last-second", "the superseded key's bundle read at the last second of the grace window",
                 summary, signedBy: previous, createdAt: Self.time("2026-10-31T00:00:00Z"), now: Self.graceEnds)
        try good("current-key-skew-edge", "signed by the current key 300 s (the skew) after its expiry",
                 summary, createdAt: Self.cardsExpire + KeyManifest.clockSkew, now: Self.cardsExpire + KeyManifest.clockSkew)
    }

    func writeBadVectors() throws {
        let text = Array("<summary nhs=\"9990000018\"><name>Ada Testperson</name></summary>\n".utf8)
        let small = [Input(name: "summary.xml", bytes: text)]
        let good = try seal(small, from: practice, to: [prison])
        let headerLength = try #require(try BundleHeader.parse(good[...])).length
        var badMagic = good; badMagic[3] = 0x32
        try write("malformed-bad-magic", "malformed", "GHB2: an unknown version", badMagic)
        try write("malformed-truncated-mid-chunk", "malformed", "cut inside the only chunk", Array(good.prefix(headerLength + 30)))
        let multi = try seal([Input(name: "scan.pdf", bytes: pseudoRandomBytes(65_536, seed: 7))], from: practice, to: [prison])
        try write("malformed-truncated-at-chunk-boundary", "malformed", "cut after the first full chunk: no final chunk",
                  Array(multi.prefix(headerLength + 4 + PayloadLayout.fullChunkCiphertext)))
        try write("malformed-trailing-data", "malformed", "one byte after the outer signature", good + [0])
        var flipped = good; flipped[headerLength + 10] ^= 0x01
        try write("authentication-failed-ciphertext-changed", "authentication-failed", "one ciphertext bit flipped", flipped)
        try write("authentication-failed-resigned-by-other-key", "authentication-failed", "outer signature replaced by a key not on A81001's card",
                  resign(good, by: rogue))
        try write("unknown-key-not-on-card", "unknown-key", "signed by an A81001 key that A81001's card does not name",
                  try seal(small, from: practice, signedBy: rogue, to: [prison]))
        try write("unknown-sender-not-pinned", "unknown-sender", "from ZZZ999, whose card the reader does not hold",
                  try seal(small, from: TestOrganisation("ZZZ999"), to: [prison]))
        try write("revoked-key-signed-at-revocation", "revoked-key", "signed by A81001's revoked key at the second of its revocation",
                  try seal(small, from: practice, signedBy: stolen, to: [prison], createdAt: Self.revokedAt))
        try write("revoked-key-signed-after-replacement", "revoked-key", "signed by the superseded key 301 s after it was replaced",
                  try seal(small, from: practice, signedBy: previous, to: [prison], createdAt: Self.cardsCreated + KeyManifest.clockSkew + 1),
                  now: Self.time("2026-11-10T00:00:00Z"))
        try write("expired-grace-window-over", "expired", "the superseded key's bundle read one second after the grace window",
                  try seal(small, from: practice, signedBy: previous, to: [prison], createdAt: Self.time("2026-10-31T00:00:00Z")),
                  now: Self.graceEnds + 1)
        try write("expired-current-key", "expired", "signed by the current key 301 s after its expiry",
                  try seal(small, from: practice, to: [prison], createdAt: Self.cardsExpire + KeyManifest.clockSkew + 1),
                  now: Self.cardsExpire + KeyManifest.clockSkew + 1)
        try write("not-a-recipient", "not-a-recipient", "sealed to XHM01 only", try seal(small, from: practice, to: [hub]))
        var wrapped = good; wrapped[headerLength - 1] ^= 0x01
        try write("decryption-failed-wrapped-key", "decryption-failed", "wrapped key changed, outer signature redone by the sender",
                  resign(wrapped, by: practice))
        var commitment = good; commitment[12 + 1 + 16 + 8 + 7 + 8] ^= 0x01
        try write("decryption-failed-key-commitment", "decryption-failed", "key commitment changed, outer signature redone by the sender",
                  resign(commitment, by: practice))
        try write("decryption-failed-chunk", "decryption-failed", "ciphertext changed, outer signature redone by the sender", resign(flipped, by: practice))

        let opened = try BundleFixture.open(good, as: prison, knowing: [practice])
        let forwarded = try seal(small, from: prison, to: [hub], bundleID: opened.manifest.bundleID) { $0.hooks.manifest = { _ in opened.manifest.encoded } }
        try write("integrity-check-failed-forwarded", "integrity-check-failed",
                  "YOI123 re-sealed A81001's signed manifest to XHM01 (surreptitious forwarding)", forwarded, recipient: hub)
        let wrongDigest = try seal(small, from: practice, to: [prison]) { [practice] sealer in
            sealer.hooks.manifest = { encoded in
                let m = try! Manifest.parse(encoded)
                let files = [ManifestFile(name: "summary.xml", size: UInt64(text.count), sha256: SHA256Hasher.hash([0]))]
                return try! Manifest.signed(kind: .records, bundleID: m.bundleID, createdAt: m.createdAt, sender: m.sender,
                                            recipients: m.recipients, files: files, signingKey: practice.signing).encoded
            }
        }
        try write("integrity-check-failed-digest", "integrity-check-failed", "the signed manifest names the wrong SHA-256", wrongDigest)
        let otherSigner = try seal(small, from: practice, to: [prison]) { [hub] sealer in
            sealer.hooks.manifest = { encoded in
                let m = try! Manifest.parse(encoded)
                return try! Manifest.signed(kind: .records, bundleID: m.bundleID, createdAt: m.createdAt, sender: m.sender,
                                            recipients: m.recipients, files: m.files, signingKey: hub.signing).encoded
            }
        }
        try write("integrity-check-failed-inner-signer", "integrity-check-failed", "manifest signed by XHM01's key inside A81001's bundle", otherSigner)
        let kind = try seal(small, from: practice, to: [prison]) { [practice] sealer in
            sealer.hooks.manifest = { encoded in
                var body = Array(encoded.dropLast(64))
                body[4] = 2
                return body + SignatureContext.manifest.sign(SHA256Hasher.hash(body), with: practice.signing)
            }
        }
        try write("malformed-manifest-kind", "malformed", "manifest kind 2, both signatures good: a parse error, not step 7", kind)

        let bombData = try deflate(Array(repeating: 0, count: 64 << 20))
        let bomb = try seal([Input(name: "a.bin", bytes: Array(repeating: 0, count: 1 << 20))], from: practice, to: [prison]) { sealer in
            sealer.hooks.block = { _, raw, _ in (.deflate, raw, bombData) }
        }
        try write("decompression-failed-bomb", "decompression-failed", "a block declaring 1 MiB that inflates to 64 MiB", bomb)
        let uncompressed = try seal(small, from: practice, to: [prison]) { sealer in
            sealer.hooks.block = { _, raw, _ in (.deflate, raw, Array(repeating: 0, count: Int(raw))) }
        }
        try write("malformed-block-does-not-shrink", "malformed", "a DEFLATE block no smaller than its raw length", uncompressed)
    }

    /// Names, subjects, workflows and NHS numbers a sealer that checks nothing would send
    /// (FORMAT.md §3.6–3.8).
    func writeUnicodeVectors() throws {
        func unchecked(_ name: String, _ comment: String, names: [String], subject: String = "", nhsNumbers: [String] = []) throws {
            let context = PackContext(subject: subject, nhsNumbers: nhsNumbers)
            let bytes = try seal(names.map { Input(name: $0, bytes: Array("x".utf8)) }, from: practice, to: [prison], context: context) {
                $0.hooks.skipTextChecks = true
            }
            try write("malformed-\(name)", "malformed", comment, bytes)
        }
        // No Workflow value can hold a bad id: the signed manifest's bytes are changed instead.
        let workflow = try seal([Input(name: "a.txt", bytes: Array("x".utf8))], from: practice, to: [prison]) { [practice] sealer in
            sealer.hooks.manifest = { encoded in
                var body = Array(encoded.dropLast(64))
                let field: [UInt8] = [5] + Array("other".utf8)
                let at = (0...(body.count - field.count)).first { Array(body[$0..<($0 + field.count)]) == field }!
                body[at + 1] = UInt8(ascii: "O")
                return body + SignatureContext.manifest.sign(SHA256Hasher.hash(body), with: practice.signing)
            }
        }
        try write("malformed-workflow-upper-case", "malformed", "workflow \"Other\": upper case, both signatures good", workflow)
        try unchecked("nhs-number-check-digit", "NHS number 9990000019, whose check digit should be 8", names: ["a.txt"],
                      nhsNumbers: ["9990000019"])
        try unchecked("nhs-numbers-repeated", "NHS number 9990000018 named twice", names: ["a.txt"], nhsNumbers: ["9990000018", "9990000018"])
        try unchecked("name-escapes", "file name ../escape.txt", names: ["../escape.txt"])
        try unchecked("name-bidi-override", "report + U+202E RIGHT-TO-LEFT OVERRIDE + fdp.exe, shown as reportexe.pdf", names: ["report\u{202E}fdp.exe"])
        try unchecked("name-zero-width", "summary + U+200B ZERO WIDTH SPACE + .xml beside summary.xml", names: ["summary.xml", "summary\u{200B}.xml"])
        try unchecked("name-hangul-filler", "summary + U+3164 HANGUL FILLER (default-ignorable) + .xml", names: ["summary\u{3164}.xml"])
        try unchecked("name-not-nfc", "cafe + U+0301 + .txt: the NFD spelling", names: ["cafe\u{301}.txt"])
        try unchecked("names-nfc-twins", "café.txt twice, NFC and NFD", names: ["café.txt", "cafe\u{301}.txt"])
        try unchecked("names-equal-after-case-folding", "Report.pdf and report.pdf", names: ["Report.pdf", "report.pdf"])
        try unchecked("names-equal-after-full-case-folding", "STRASSE.txt and straße.txt (ß folds to ss)", names: ["STRASSE.txt", "straße.txt"])
        try unchecked("subject-bidi-override", "a subject with U+202E RIGHT-TO-LEFT OVERRIDE", names: ["a.txt"], subject: "Reception\u{202E}screening")
        try unchecked("subject-line-separator", "a subject with U+2028 LINE SEPARATOR", names: ["a.txt"], subject: "Reception\u{2028}screening")
    }

    /// Seeds for the fuzzer: one valid input per parser.
    @Test(.enabled(if: enabled)) func writeFuzzSeeds() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")
        let (bytes, sealed) = try BundleFixture.seal([("summary.xml", recordText(3000)), ("scan.pdf", pseudoRandomBytes(2000))],
                                                     from: practice, to: [prison, hub],
                                                     context: PackContext(subject: "Seed", workflow: try Workflow("gp-record"),
                                                                          nhsNumbers: ["9990000018"]))
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

    /// The first `count` valid test NHS numbers from 9990000000 up.
    static func validNHSNumbers(_ count: Int) -> [String] {
        Array((9_990_000_000...9_999_999_999).lazy.map(String.init).filter(NHSNumber.isValid).prefix(count))
    }

    func deflate(_ data: [UInt8]) throws -> [UInt8] {
        let deflater = BlockDeflater(level: 9)
        var out = [UInt8](repeating: 0, count: deflater.bound(data.count))
        let n = data.withUnsafeBytes { input in out.withUnsafeMutableBytes { deflater.compress(input, into: $0) } }
        return Array(out.prefix(n!))
    }
}
