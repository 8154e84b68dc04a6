import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Testing

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
func pseudoRandomBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        out[i] = UInt8(truncatingIfNeeded: state)
    }
    return out
}

/// Compressible text that looks like a clinical export (NHS test numbers, invented names).
func recordText(_ count: Int) -> [UInt8] {
    var out: [UInt8] = []
    var i = 0
    while out.count < count {
        out += Array("<patient nhs=\"99900000\(String(format: "%02d", i % 100))\"><name>Test Patient \(i)</name><med>Metformin 500mg</med></patient>\n".utf8)
        i += 1
    }
    return Array(out.prefix(count))
}

@Suite("Bundle round trips")
struct RoundTripTests {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")
    let hub = TestOrganisation("XHM01")

    @Test("round trip", arguments: [0, 1, 65_535, 65_536, 65_537, 1_048_575, 1_048_576, 1_048_577, 3_000_000])
    func roundTrip(size: Int) throws {
        for content in [pseudoRandomBytes(size), recordText(size)] {
            let (bytes, sealed) = try BundleFixture.seal([("record.xml", content)], from: practice, to: [prison])
            let opened = try BundleFixture.open(bytes, as: prison, knowing: [practice])
            #expect(opened.files.count == 1)
            #expect(opened.files[0].name == "record.xml")
            #expect(opened.files[0].bytes == content)
            #expect(opened.manifest.files[0].sha256 == SHA256Hasher.hash(content))
            #expect(opened.envelope.bundleSHA256 == SHA256Hasher.hash(bytes))
            #expect(sealed.bundleSHA256 == SHA256Hasher.hash(bytes))
            #expect(sealed.length == UInt64(bytes.count))
        }
    }

    @Test func compressibleDataShrinks() throws {
        let content = recordText(2_000_000)
        let (bytes, _) = try BundleFixture.seal([("r.xml", content)], from: practice, to: [prison])
        #expect(bytes.count < content.count / 3)
        let random = pseudoRandomBytes(2_000_000)
        let (sealedRandom, _) = try BundleFixture.seal([("scan.pdf", random)], from: practice, to: [prison])
        // Incompressible data is stored: overhead is framing only.
        #expect(sealedRandom.count < random.count + random.count / 100)
    }

    @Test func severalFilesSeveralRecipients() throws {
        let files = [("summary.xml", recordText(100_000)), ("scan.pdf", pseudoRandomBytes(70_000)),
                     ("empty.txt", []), ("notes é ünïcode.txt", Array("hello".utf8))]
        let (bytes, _) = try BundleFixture.seal(files, from: practice, to: [prison, hub, practice], context: PackContext(subject: "Transfer of care"))
        for reader in [prison, hub, practice] {
            let opened = try BundleFixture.open(bytes, as: reader, knowing: [practice])
            #expect(opened.files.map(\.name) == files.map(\.0))
            #expect(opened.files.map(\.bytes) == files.map(\.1))
            #expect(opened.manifest.subject == "Transfer of care")
            #expect(opened.manifest.recipients.map(\.value) == ["YOI123", "XHM01", "A81001"])
        }
    }

    // The sealer sizes its block buffers by the bundle's longest file (capped at one block):
    // a short file after a long one, a long one after many short ones and a bundle of empty
    // files must all fill and frame their blocks exactly.
    @Test("block buffers sized by the longest file", arguments: [
        [0, 0], [1, 0, 3], [5, 70_000, 1, 2], [1_048_577, 10, 3], [7, 7, 7, 7, 7, 7, 7, 7, 7, 1_048_576],
        // Many batches, of small blocks and of whole ones.
        Array(repeating: 5_100, count: 130), [3_000_000, 9_437_185, 0, 17],
    ])
    func blockBuffersFitTheLongestFile(sizes: [Int]) throws {
        let files = sizes.enumerated().map { i, size in
            ("f\(i).bin", i.isMultiple(of: 2) ? recordText(size) : pseudoRandomBytes(size))
        }
        let (bytes, _) = try BundleFixture.seal(files, from: practice, to: [prison])
        let opened = try BundleFixture.open(bytes, as: prison, knowing: [practice])
        #expect(opened.files.map(\.bytes) == files.map(\.1))
    }
}

@Suite("Inputs that change while they are sealed")
struct ChangingInputTests {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")

    func seal(declared: Int, actual: [UInt8]) -> FormatError? {
        let sealer = BundleSealer(sender: practice.ods, recipients: [prison.recipient])
        let input = SealInput(name: "a.bin", size: UInt64(declared), source: MemorySource(actual))
        do {
            _ = try sealer.seal(bundleID: .random(), createdAt: 1, files: [input], signingKey: practice.signing, to: MemorySink())
            return nil
        } catch {
            return error
        }
    }

    @Test func shorterOrLongerThanDeclaredIsRefused() {
        for (declared, actual) in [(100, 99), (100, 101), (2_000_000, 1_999_999), (2_000_000, 2_000_001), (0, 1)] {
            let error = seal(declared: declared, actual: pseudoRandomBytes(actual))
            #expect(error?.category == .io, "declared \(declared), delivered \(actual)")
            #expect(error?.description.contains("a.bin") == true)
            #expect(error?.bundleID != nil)
        }
        #expect(seal(declared: 100, actual: pseudoRandomBytes(100)) == nil)
    }

    @Test func aFailingSourceStopsSealingCleanly() {
        final class BrokenSource: ByteSource {
            var served = 0
            func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
                if served > 3_000_000 { throw CancellationError() }
                served += buffer.count
                return buffer.count
            }
        }
        let sealer = BundleSealer(sender: practice.ods, recipients: [prison.recipient])
        let input = SealInput(name: "broken.bin", size: 10_000_000, source: BrokenSource())
        #expect(throws: FormatError.self) {
            _ = try sealer.seal(bundleID: .random(), createdAt: 1, files: [input], signingKey: practice.signing, to: MemorySink())
        }
    }

    @Test func aFailingSinkStopsSealingWithoutHanging() {
        // A full disk partway through: the writer thread fails, the reader stops, nothing hangs.
        final class FullDisk: ByteSink {
            var written = 0
            func write(_ bytes: UnsafeRawBufferPointer) throws {
                if written > 1_000_000 { throw CancellationError() }
                written += bytes.count
            }
        }
        let sealer = BundleSealer(sender: practice.ods, recipients: [prison.recipient])
        let input = SealInput(name: "big.bin", size: 20_000_000, source: MemorySource(pseudoRandomBytes(20_000_000)))
        #expect(throws: FormatError.self) {
            _ = try sealer.seal(bundleID: .random(), createdAt: 1, files: [input], signingKey: practice.signing, to: FullDisk())
        }
    }
}
