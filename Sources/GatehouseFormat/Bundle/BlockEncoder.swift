import GatehouseCrypto

/// Compresses one block of file data, or decides not to (FORMAT.md §3.5).
///
/// Already-compressed data (scans, PDFs, archives) is detected cheaply by deflating two small
/// samples first: if they do not shrink, the block is stored without paying for a full
/// deflate. A block is also stored whenever its deflated form would not be smaller.
final class BlockEncoder {
    /// Bytes deflated from each sample when testing compressibility.
    static let sampleSize = 4096
    /// A sample must shrink below this fraction for the whole block to be tried.
    static let sampleThreshold = 0.95

    private let deflater: BlockDeflater
    private let output: UnsafeMutableRawBufferPointer
    private let sample: UnsafeMutableRawBufferPointer

    /// An encoder for blocks of at most `capacity` bytes.
    init(level: Int32, capacity: Int = PayloadLayout.blockSize) {
        deflater = BlockDeflater(level: level)
        output = .allocate(byteCount: max(1, capacity), alignment: 16)
        sample = .allocate(byteCount: Self.sampleSize, alignment: 16)
    }

    deinit {
        output.deallocate()
        sample.deallocate()
    }

    /// Encodes `raw` and returns the method and the bytes to store (valid until the next call).
    func encode(_ raw: UnsafeRawBufferPointer) -> (method: BlockMethod, data: UnsafeRawBufferPointer) {
        if raw.count > 4 * Self.sampleSize && !samplesShrink(raw) {
            return (.stored, raw)
        }
        // Ask for at most raw.count - 1 bytes: a block that does not shrink is stored.
        let limit = UnsafeMutableRawBufferPointer(rebasing: output[0..<(raw.count - 1)])
        if raw.count > 1, let n = deflater.compress(raw, into: limit) {
            return (.deflate, UnsafeRawBufferPointer(rebasing: output[0..<n]))
        }
        return (.stored, raw)
    }

    private func samplesShrink(_ raw: UnsafeRawBufferPointer) -> Bool {
        let starts = [0, raw.count / 2]
        for start in starts {
            let piece = UnsafeRawBufferPointer(rebasing: raw[start..<(start + Self.sampleSize)])
            let limit = Int(Double(Self.sampleSize) * Self.sampleThreshold)
            if deflater.compress(piece, into: UnsafeMutableRawBufferPointer(rebasing: sample[0..<limit])) != nil {
                return true
            }
        }
        return false
    }
}
