import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Testing

@Suite("Header parsing, byte by byte")
struct HeaderParsingTests {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")
    let hub = TestOrganisation("XHM01")

    @Test func everyPrefixNeedsMoreDataThenParses() throws {
        let (bytes, sealed) = try BundleFixture.seal([("a.txt", [1, 2, 3])], from: practice, to: [prison, hub])
        let header = sealed.header.encoded()
        #expect(Array(bytes.prefix(header.count)) == header)
        // Fed one byte at a time, the parser asks for more until the header is complete.
        for n in 0..<header.count {
            #expect(try BundleHeader.parse(header.prefix(n)) == nil, "prefix \(n) did not ask for more data")
        }
        let parsed = try #require(try BundleHeader.parse(bytes[...]))
        #expect(parsed.length == header.count)
        #expect(parsed.header == sealed.header)
        #expect(parsed.header.encoded() == header)
    }

    @Test func badMagicFailsAtFirstByte() {
        #expect(throws: FormatError.self) { try BundleHeader.parse([0x00][...]) }
        #expect(throws: FormatError.self) { try BundleHeader.parse(Array("GHB2".utf8)[...]) }
        #expect(throws: FormatError.self) { try BundleHeader.parse(Array("%PDF-1.7".utf8)[...]) }
    }

    @Test func declaredLengthMustMatch() throws {
        let (_, sealed) = try BundleFixture.seal([("a.txt", [1])], from: practice, to: [prison])
        let header = sealed.header.encoded()
        for delta in [-1, 1, 100] {
            var changed = header
            let length = UInt32(header.count + delta)
            changed[8...11] = [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)][...]
            let padded = changed + Array(repeating: 0, count: max(0, delta))
            #expect(throws: FormatError.self, "delta \(delta)") { try BundleHeader.parse(padded[...]) }
        }
        for length: UInt32 in [0, 12, 197, 19636, 65536, .max] {
            var changed = header
            changed[8...11] = [UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)][...]
            #expect(throws: FormatError.self) { try BundleHeader.parse(changed[...]) }
        }
    }

    @Test func theLargestPossibleHeaderIsTheLimit() throws {
        // 32 recipients with nine-letter codes, from a nine-letter sender: 3248 bytes (FORMAT.md §3.1).
        let sender = TestOrganisation("SENDER001")
        let recipients = (0..<BundleHeader.maxRecipients).map { TestOrganisation(String(format: "RECIPI%03d", $0)) }
        let (bytes, sealed) = try BundleFixture.seal([("a.txt", [1])], from: sender, to: recipients)
        #expect(sealed.header.encoded().count == 3248 && BundleHeader.maxLengthWithoutExtensions == 3248)
        #expect(BundleHeader.minLength == 198)
        #expect(try BundleHeader.parse(bytes[...])?.length == 3248)
        // With the largest extension (a 16 KiB checkpoint): 19635 bytes. A declared length past
        // it is refused before the bytes are awaited.
        #expect(BundleHeader.maxLength == 19635)
        var longer = Array(bytes.prefix(12))
        longer[8...11] = [0, 0, 0x4C, 0xB4][...]
        #expect(throws: FormatError.self) { try BundleHeader.parse(longer[...]) }
    }

    @Test func manifestParsesStrictly() throws {
        let (bytes, sealed) = try BundleFixture.seal([("a.txt", [1])], from: practice, to: [prison], context: PackContext(subject: "Transfer"))
        _ = bytes
        let encoded = sealed.manifest.encoded
        #expect(try Manifest.parse(encoded) == sealed.manifest)
        for cut in 0..<encoded.count {
            #expect(throws: FormatError.self) { try Manifest.parse(Array(encoded.prefix(cut))) }
        }
        #expect(throws: FormatError.self) { try Manifest.parse(encoded + [0]) }
    }
}
