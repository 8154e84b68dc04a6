internal import CZlib

/// Raw DEFLATE (RFC 1951, no zlib or gzip wrapper) of independent blocks, through zlib.
///
/// The reference implementation the format was first written with. ``BlockDeflater`` (libdeflate)
/// seals; this one remains to prove that both produce streams the other inflates.
public final class ZlibBlockDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// A deflater at `level` (1 fastest … 9 smallest).
    public init(level: Int32) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = gatehouse_deflate_init_raw(stream, level)
        precondition(rc == Z_OK, "deflateInit2 failed: \(rc)")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// The largest output `compress` can produce for `count` input bytes.
    public func bound(_ count: Int) -> Int { Int(deflateBound(stream, uLong(count))) }

    /// Compresses `input` as one complete raw DEFLATE stream into `output`.
    /// Returns the compressed length, or nil if it would not fit in `output`
    /// (callers pass an output smaller than the input to mean "only if it shrinks").
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        deflateReset(stream)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let rc = deflate(stream, Z_FINISH)
        defer { stream.pointee.next_in = nil; stream.pointee.next_out = nil }
        guard rc == Z_STREAM_END else { return nil }
        return output.count - Int(stream.pointee.avail_out)
    }
}

/// Raw DEFLATE decompression with an exact, declared output size, through zlib.
///
/// ``BlockInflater`` asks it for the verdict on every block libdeflate does not accept as it is,
/// so a block refused by libdeflate alone is never refused, and every failure reads the same.
public final class ZlibBlockInflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// A new inflater.
    public init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = gatehouse_inflate_init_raw(stream)
        precondition(rc == Z_OK, "inflateInit2 failed: \(rc)")
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Inflates one complete raw DEFLATE stream that must produce exactly `output.count` bytes
    /// and end exactly at the end of `input`.
    ///
    /// Output is bounded by `output.count`: a stream that would produce more (a
    /// decompression bomb) fails as soon as the buffer is full, without inflating further.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        inflateReset(stream)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let rc = inflate(stream, Z_FINISH)
        defer { stream.pointee.next_in = nil; stream.pointee.next_out = nil }
        let produced = output.count - Int(stream.pointee.avail_out)
        switch rc {
        case Z_STREAM_END:
            guard produced == output.count else {
                throw .decompressionFailed("block inflated to \(produced) bytes, \(output.count) declared")
            }
            guard stream.pointee.avail_in == 0 else {
                throw .decompressionFailed("\(stream.pointee.avail_in) bytes follow the end of the compressed block")
            }
        case Z_BUF_ERROR where stream.pointee.avail_out == 0:
            throw .decompressionFailed("block inflates past its declared \(output.count) bytes")
        case Z_BUF_ERROR:
            throw .decompressionFailed("compressed block is truncated")
        default:
            throw .decompressionFailed("compressed block is malformed (zlib \(rc))")
        }
    }
}
