internal import CDeflate

/// Raw DEFLATE (RFC 1951, no zlib or gzip wrapper) of independent blocks, through libdeflate.
///
/// Each block is compressed on its own so blocks can be compressed in parallel and inflated with
/// a hard bound on their output. libdeflate works on whole buffers, which is exactly what a
/// block is, and at level 1 costs about half zlib's instructions for smaller output
/// (bench/PROFILE.md); its streams are plain RFC 1951, so any inflater reads them.
public final class BlockDeflater {
    private let compressor: OpaquePointer

    /// A deflater at `level` (1 fastest … 12 smallest; zlib's levels 1 … 9 mean about the same).
    public init(level: Int32) {
        guard let compressor = libdeflate_alloc_compressor(level) else {
            preconditionFailure("libdeflate_alloc_compressor(\(level)) failed: out of memory or a bad level")
        }
        self.compressor = compressor
    }

    deinit { libdeflate_free_compressor(compressor) }

    /// The largest output `compress` can produce for `count` input bytes.
    public func bound(_ count: Int) -> Int { libdeflate_deflate_compress_bound(compressor, count) }

    /// Compresses `input` as one complete raw DEFLATE stream into `output`.
    /// Returns the compressed length, or nil if it would not fit in `output`
    /// (callers pass an output smaller than the input to mean "only if it shrinks").
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let out = output.baseAddress else { return nil }
        let n = libdeflate_deflate_compress(compressor, input.baseAddress, input.count, out, output.count)
        return n == 0 ? nil : n
    }
}

/// Raw DEFLATE decompression with an exact, declared output size: libdeflate first, zlib for
/// the verdict on anything libdeflate does not accept as it is.
public final class BlockInflater {
    private let decompressor: OpaquePointer
    private var reference: ZlibBlockInflater?

    /// A new inflater.
    public init() {
        guard let decompressor = libdeflate_alloc_decompressor() else {
            preconditionFailure("libdeflate_alloc_decompressor failed: out of memory")
        }
        self.decompressor = decompressor
    }

    deinit { libdeflate_free_decompressor(decompressor) }

    /// Inflates one complete raw DEFLATE stream that must produce exactly `output.count` bytes
    /// and end exactly at the end of `input`.
    ///
    /// Output is bounded by `output.count`: a stream that would produce more (a
    /// decompression bomb) fails as soon as the buffer is full, without inflating further.
    public func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        var consumed = 0
        var produced = 0
        let rc = libdeflate_deflate_decompress_ex(
            decompressor, input.baseAddress, input.count, output.baseAddress, output.count, &consumed, &produced)
        if rc == LIBDEFLATE_SUCCESS && consumed == input.count && produced == output.count { return }
        // Every other outcome (malformed, truncated, too long, too short, bytes after the end) is
        // judged by zlib, the implementation the format was written against: a block zlib accepts
        // still opens (two DEFLATE decoders may differ on odd but valid streams from another
        // sealer), and each failure keeps its message. This runs only for blocks that fail, after
        // the outer signature has already been checked, and zlib's output is bounded the same way.
        if reference == nil { reference = ZlibBlockInflater() }
        try reference!.decompress(input, into: output)
    }
}
