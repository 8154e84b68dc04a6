/// Where a format reads bytes from: a file, a pipe, memory. The format code decides nothing about
/// where bytes live; callers supply sources and sinks.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes; returns 0 only at end of input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Where a format writes bytes to.
public protocol ByteSink: AnyObject {
    /// Writes all of `bytes` or throws.
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSource {
    /// Reads until `buffer` is full or the input ends; returns the number of bytes read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Reads exactly `count` bytes, or fewer only at end of input.
    public func readBytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { try readFully(into: $0) }
        bytes.removeLast(count - n)
        return bytes
    }
}

extension ByteSink {
    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
}

/// An in-memory source, for small objects and tests.
public final class MemorySource: RewindableByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    /// Reads from `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Reads from the first byte again.
    public func rewindToStart() { offset = 0 }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<(offset + n)]))
        }
        offset += n
        return n
    }
}

/// An in-memory sink, for small objects and tests.
public final class MemorySink: ByteSink {
    /// Everything written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty sink.
    public init() {}

    public func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
}

/// `Array.withUnsafeBytes` with the body's typed error preserved.
func withBytes<R>(_ array: [UInt8], _ body: (UnsafeRawBufferPointer) throws(FormatError) -> R) throws(FormatError) -> R {
    do {
        return try array.withUnsafeBytes { try body($0) }
    } catch {
        // The body can throw only FormatError.
        throw error as! FormatError
    }
}
