import Foundation
import GatehouseCrypto

/// Reads a file in 1 MiB blocks, hashes it in order, and compresses batches of blocks on all
/// cores at once (blocks are independent DEFLATE streams, FORMAT.md §3.5), handing the encoded
/// blocks to the payload writer in order.
final class BlockReader {
    private let encoders: [BlockEncoder]
    private let raw: [UnsafeMutableRawBufferPointer]
    private let hooks: SealerTestHooks

    /// Blocks in a batch: two per core (read once; it reads cgroup files).
    static let width = 2 * max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

    /// A reader for `blocks` blocks in all, none longer than `longest` bytes (no more encoders
    /// and buffers than it needs: a small record costs one, and a bundle of 1.6 KB records
    /// holds kilobytes, not megabytes).
    init(level: Int32, hooks: SealerTestHooks, blocks: Int, longest: Int) {
        // Two blocks per core in a batch keeps every core busy (blocks differ in how long they
        // take) while holding only a few MiB.
        let width = max(1, min(Self.width, blocks))
        let size = max(1, min(PayloadLayout.blockSize, longest))
        encoders = (0..<width).map { _ in BlockEncoder(level: level, capacity: size) }
        raw = (0..<width).map { _ in .allocate(byteCount: size, alignment: 16) }
        self.hooks = hooks
    }

    deinit {
        for buffer in raw {
            // The buffers held patient records.
            wipe(buffer)
            buffer.deallocate()
        }
    }

    /// Reads every file in order, queues their blocks, and returns each file's SHA-256.
    ///
    /// Blocks are gathered across files before each parallel batch, so a bundle of many small
    /// records (each one block) keeps every core compressing just as one large file does.
    func seal(_ files: [SealInput], into writer: PayloadWriterThread) throws(FormatError) -> [SHA256Digest] {
        var digests: [SHA256Digest] = []
        var lengths: [Int] = []
        for file in files {
            let fileHasher = SHA256Hasher()
            var remaining = file.size
            while remaining > 0 {
                if lengths.count == raw.count {
                    for encoded in encode(lengths) { try writer.append(encoded) }
                    lengths.removeAll(keepingCapacity: true)
                }
                let want = Int(min(UInt64(PayloadLayout.blockSize), remaining))
                let block = UnsafeMutableRawBufferPointer(rebasing: raw[lengths.count][0..<want])
                let got: Int
                do { got = try file.source.readFully(into: block) } catch { throw .io("reading \(file.name) failed: \(error)") }
                guard got == want else {
                    throw .io("\(file.name) became shorter while it was being sealed (\(file.size) bytes expected)")
                }
                fileHasher.update(UnsafeRawBufferPointer(block))
                lengths.append(want)
                remaining -= UInt64(want)
            }
            try checkEnd(of: file)
            digests.append(fileHasher.finalize())
        }
        for encoded in encode(lengths) { try writer.append(encoded) }
        return digests
    }

    /// Encodes the first `lengths.count` buffers, in parallel when there are several.
    private func encode(_ lengths: [Int]) -> [[UInt8]] {
        let results = UnsafeMutableBufferPointer<[UInt8]>.allocate(capacity: lengths.count)
        results.initialize(repeating: [])
        defer {
            results.deinitialize()
            results.deallocate()
        }
        let work = EncodeWork(encoders: encoders, raw: raw, lengths: lengths, results: results, hooks: hooks)
        if lengths.isEmpty { return [] }
        if lengths.count == 1 { work.run(0) } else { DispatchQueue.concurrentPerform(iterations: lengths.count) { work.run($0) } }
        return Array(results)
    }

    private func checkEnd(of file: SealInput) throws(FormatError) {
        var probe: UInt8 = 0
        let extra: Int
        do { extra = try withUnsafeMutableBytes(of: &probe) { try file.source.read(into: $0) } } catch {
            throw .io("reading \(file.name) failed: \(error)")
        }
        guard extra == 0 else { throw .io("\(file.name) grew while it was being sealed (\(file.size) bytes expected)") }
    }
}

/// One batch of block encodings; each index touches only its own encoder, buffer and result.
private struct EncodeWork: @unchecked Sendable {
    let encoders: [BlockEncoder]
    let raw: [UnsafeMutableRawBufferPointer]
    let lengths: [Int]
    let results: UnsafeMutableBufferPointer<[UInt8]>
    let hooks: SealerTestHooks

    func run(_ i: Int) {
        let raw = UnsafeRawBufferPointer(rebasing: raw[i][0..<lengths[i]])
        let encoded = encoders[i].encode(raw)
        if let transform = hooks.block {
            let (method, rawLength, bytes) = transform(encoded.method, UInt32(lengths[i]), Array(encoded.data))
            results[i] = Self.framed(method: method, rawLength: rawLength, data: bytes)
        } else {
            results[i] = Self.framed(method: encoded.method, rawLength: UInt32(lengths[i]), data: encoded.data)
        }
    }

    /// The block header and its data in one allocation, copied once: a 1 GiB export is a
    /// thousand such blocks, and every extra copy is a gigabyte moved and a megabyte held.
    private static func framed(method: BlockMethod, rawLength: UInt32, data: some ContiguousBytes) -> [UInt8] {
        data.withUnsafeBytes { data in
            [UInt8](unsafeUninitializedCapacity: PayloadLayout.blockHeaderLength + data.count) { out, count in
                out[0] = method.rawValue
                for (k, word) in [rawLength, UInt32(data.count)].enumerated() {
                    for b in 0..<4 { out[1 + 4 * k + b] = UInt8(truncatingIfNeeded: word >> UInt32(24 - 8 * b)) }
                }
                if let base = data.baseAddress {
                    UnsafeMutableRawPointer(out.baseAddress! + PayloadLayout.blockHeaderLength).copyMemory(from: base, byteCount: data.count)
                }
                count = PayloadLayout.blockHeaderLength + data.count
            }
        }
    }
}
