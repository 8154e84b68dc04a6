import GatehouseCrypto
import Testing

/// libdeflate seals and opens blocks; zlib wrote every block sealed before it and may write
/// blocks from other sealers. Each must inflate what the other deflates, byte for byte.
@Suite("DEFLATE: libdeflate and zlib read each other's blocks")
struct DeflateCompatibilityTests {
    /// Inputs that exercise every DEFLATE block type: fixed Huffman (short), dynamic Huffman
    /// (text), stored (random), long runs, and a mixture within one block.
    static let inputs: [(String, [UInt8])] = {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let random = (0..<300_000).map { _ -> UInt8 in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
        let text = Array(String(repeating: "<med nhs=\"9990000018\">Metformin 500mg twice daily</med>\n", count: 18_000).utf8)
        return [
            ("one byte", [0x41]),
            ("short text", Array("Test Patient, 999 000 0018".utf8)),
            ("1 MiB of record text", Array(text.prefix(1 << 20))),
            ("1 MiB of zeros", [UInt8](repeating: 0, count: 1 << 20)),
            ("random then text", Array(random.prefix(100_000)) + Array(text.prefix(400_000))),
            ("random", random),
        ]
    }()

    static let levels: [Int32] = [1, 6, 9]

    @Test func libdeflateBlocksInflateWithZlib() throws {
        try crossRoundTrips { BlockDeflater(level: $0) } inflate: { try ZlibBlockInflater().decompress($0, into: $1) }
    }

    @Test func zlibBlocksInflateWithLibdeflate() throws {
        try crossRoundTrips { ZlibBlockDeflater(level: $0) } inflate: { try BlockInflater().decompress($0, into: $1) }
    }

    /// Every input at every level through `deflater`, back through `inflate`, unchanged.
    func crossRoundTrips<D>(_ deflater: (Int32) -> D,
                            inflate body: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) throws -> Void) throws {
        for (what, input) in Self.inputs {
            for level in Self.levels {
                let d = deflater(level)
                let (bound, compress) = switch d {
                case let d as BlockDeflater: (d.bound(input.count), d.compress)
                case let d as ZlibBlockDeflater: (d.bound(input.count), d.compress)
                default: preconditionFailure("not a deflater")
                }
                let block = try #require(self.compress(input, bound, compress))
                #expect(try inflate(block, size: input.count, body) == input, "\(what) at level \(level)")
            }
        }
    }

    /// A block libdeflate refuses gets zlib's verdict: the same category and message as before.
    @Test func failuresReadAsZlibsDo() throws {
        let text = Self.inputs[2].1
        let deflater = BlockDeflater(level: 1)
        let block = try #require(compress(text, deflater.bound(text.count)) { deflater.compress($0, into: $1) })
        let zeros = try #require(compress([UInt8](repeating: 0, count: 1 << 20), 4096) { deflater.compress($0, into: $1) })
        let cases: [(String, [UInt8], Int)] = [
            ("a bomb", zeros, 1000),
            ("too short for its declared size", block, text.count + 1),
            ("truncated", Array(block.dropLast(3)), text.count),
            ("a byte after the end", block + [0], text.count),
            ("garbage", [0xff, 0xff, 0xff, 0xff], 10),
        ]
        for (what, data, size) in cases {
            let fast = failure(data, size) { try BlockInflater().decompress($0, into: $1) }
            let reference = failure(data, size) { try ZlibBlockInflater().decompress($0, into: $1) }
            #expect(fast?.category == .decompressionFailed, "\(what)")
            #expect(fast == reference, "\(what)")
        }
    }

    /// libdeflate at level 1 is the sealer's compressor: smaller blocks than zlib's level 1.
    @Test func sealerCompressesWithLibdeflate() throws {
        let text = Self.inputs[2].1
        let fast = BlockDeflater(level: 1)
        let zlib = ZlibBlockDeflater(level: 1)
        let a = try #require(compress(text, fast.bound(text.count)) { fast.compress($0, into: $1) })
        let b = try #require(compress(text, zlib.bound(text.count)) { zlib.compress($0, into: $1) })
        #expect(a != b)
    }

    func compress(_ input: [UInt8], _ limit: Int,
                  _ body: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) -> Int?) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: limit)
        let n = input.withUnsafeBytes { i in out.withUnsafeMutableBytes { body(i, $0) } }
        return n.map { Array(out.prefix($0)) }
    }

    func inflate(_ data: [UInt8], size: Int,
                 _ body: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) throws -> Void) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        try data.withUnsafeBytes { d in try out.withUnsafeMutableBytes { try body(d, $0) } }
        return out
    }

    func failure(_ data: [UInt8], _ size: Int,
                 _ body: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer) throws -> Void) -> CryptoError? {
        do { _ = try inflate(data, size: size, body) } catch let error as CryptoError { return error } catch { return nil }
        return nil
    }
}
