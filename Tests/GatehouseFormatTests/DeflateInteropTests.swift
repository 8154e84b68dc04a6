import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Synchronization
import Testing

/// Bundles from a zlib sealer (every Gatehouse before libdeflate) open, and the blocks a
/// libdeflate sealer writes inflate with zlib: the format's DEFLATE is RFC 1951, whoever wrote it.
@Suite("DEFLATE blocks between sealers")
struct DeflateInteropTests {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")

    @Test func bundleWithZlibBlocksOpens() throws {
        let content = recordText(1_500_000)
        let (bytes, _) = try BundleFixture.seal([("record.xml", content)], from: practice, to: [prison]) { sealer in
            // Each block again, deflated by zlib as an older or other sealer would. The hook runs
            // on the sealer's worker threads at once: a deflater (one z_stream) each, never shared.
            sealer.hooks.block = { method, raw, data in
                let zlib = ZlibBlockDeflater(level: 1)
                var block = [UInt8](repeating: 0, count: Int(raw))
                try! data.withUnsafeBytes { d in try block.withUnsafeMutableBytes { try BlockInflater().decompress(d, into: $0) } }
                var out = [UInt8](repeating: 0, count: zlib.bound(block.count))
                let n = block.withUnsafeBytes { b in out.withUnsafeMutableBytes { zlib.compress(b, into: $0) } }
                return (.deflate, raw, Array(out.prefix(n!)))
            }
        }
        let opened = try BundleFixture.open(bytes, as: prison, knowing: [practice])
        #expect(opened.files[0].bytes == content)
    }

    @Test func sealedBlocksInflateWithZlib() throws {
        let content = recordText(2_500_000)
        let blocks = Mutex<[(raw: UInt32, data: [UInt8])]>([])
        _ = try BundleFixture.seal([("record.xml", content)], from: practice, to: [prison]) { sealer in
            sealer.hooks.block = { method, raw, data in
                #expect(method == .deflate)
                blocks.withLock { $0.append((raw, data)) }
                return (method, raw, data)
            }
        }
        let seen = blocks.withLock { $0 }
        #expect(seen.count == 3)
        // Blocks are encoded in parallel, in no fixed order: each must be one of the file's blocks.
        let expected = stride(from: 0, to: content.count, by: 1 << 20).map { Array(content[$0..<min($0 + (1 << 20), content.count)]) }
        var found: [[UInt8]] = []
        for block in seen {
            var out = [UInt8](repeating: 0, count: Int(block.raw))
            try block.data.withUnsafeBytes { d in try out.withUnsafeMutableBytes { try ZlibBlockInflater().decompress(d, into: $0) } }
            found.append(out)
        }
        #expect(expected.allSatisfy { block in found.contains(block) })
    }
}
