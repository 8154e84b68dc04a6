import Foundation
import GatehouseCrypto

/// Where an opener puts decrypted files. Files arrive one after another, in manifest order;
/// nothing written here may be released until the opener returns successfully.
public protocol OpenedFileSink: AnyObject {
    /// A new file starts. `index` counts from 0.
    func beginFile(_ entry: FileTableEntry, index: Int) throws
    /// Bytes of the current file.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// The current file is complete.
    func endFile() throws
    /// The whole file table, once, before the first file begins: the declared names and sizes,
    /// for a sink that refuses (with ``FormatError/tooLarge(_:bundle:)``) before writing anything.
    func fileTable(_ entries: [FileTableEntry]) throws
}

extension OpenedFileSink {
    /// No check by default.
    public func fileTable(_ entries: [FileTableEntry]) throws {}
}

/// Parses the decrypted plaintext stream (FORMAT.md §3.5) as it arrives, chunk by chunk: the
/// file table, each file's blocks (inflated within their declared sizes), then the manifest.
///
/// An explicit state machine: every state knows exactly how many bytes it may accept, so the
/// memory it holds is bounded by a few blocks (1 MiB each) or the manifest (2 MiB).
///
/// DEFLATE blocks are independent (FORMAT.md §3.5), so several are gathered and inflated on all
/// cores at once; what reaches the sink (file starts, bytes, file ends) keeps the stream's order.
final class PlaintextStreamParser {
    private enum State {
        case fileTable
        case blockHeader(file: Int, remaining: UInt64)
        case storedData(file: Int, remaining: UInt64, blockRemaining: Int)
        case deflateData(file: Int, remaining: UInt64, rawLength: Int, storedLength: Int)
        case manifestLength
        case manifest(length: Int)
        case done
    }

    /// Upper bound of an encoded file table.
    static let maxFileTableLength = 4 + PayloadLayout.maxFiles * (2 + FileNameRule.maxLength + 8)

    /// What reaches the sink, in stream order, held while inflations are pending.
    private enum Output {
        case begin(file: Int)
        case bytes([UInt8])
        case inflated(slot: Int, file: Int)
        case end(file: Int)
    }

    private var state = State.fileTable
    private var pending: [UInt8] = []
    private let sink: any OpenedFileSink
    private var fileHasher = SHA256Hasher()
    /// One inflater, compressed block and output buffer per slot; `used` slots wait for `flush()`.
    /// Created as blocks need them, up to ``width``: a small record costs one.
    private var inflaters: [BlockInflater] = []
    private var compressed: [[UInt8]] = []
    private var inflated: [UnsafeMutableRawBufferPointer] = []
    private var rawLengths: [Int] = []
    private var used = 0
    private var held: [Output] = []
    private var heldBytes = 0
    /// Blocks inflated at once: two per core (read once; it reads cgroup files).
    private static let width = 2 * max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))
    /// Stored bytes held behind pending inflations before they are all flushed.
    private static let maxHeldBytes = 4 << 20

    private(set) var entries: [FileTableEntry] = []
    private(set) var digests: [SHA256Digest] = []
    private(set) var manifestBytes: [UInt8]?

    init(sink: any OpenedFileSink) { self.sink = sink }

    deinit {
        // The buffers held patient data.
        for buffer in inflated {
            wipe(buffer)
            buffer.deallocate()
        }
        for event in held { if case .bytes(var bytes) = event { bytes.withUnsafeMutableBytes { wipe($0) } } }
    }

    /// True when the stream has been completely parsed.
    var isComplete: Bool { if case .done = state { true } else { false } }

    /// A description of where the stream stopped, for truncation errors.
    var position: String {
        switch state {
        case .fileTable: "in the file table"
        case .blockHeader(let f, _), .storedData(let f, _, _), .deflateData(let f, _, _, _): "inside file \(f + 1)"
        case .manifestLength, .manifest: "in the manifest"
        case .done: "after the manifest"
        }
    }

    /// Consumes the next piece of plaintext.
    func feed(_ input: UnsafeRawBufferPointer) throws(FormatError) {
        var rest = input[...]
        while !rest.isEmpty {
            switch state {
            case .fileTable:
                pending.append(contentsOf: rest)
                rest = rest[rest.endIndex...]
                guard let (entries, length) = try FileTable.parse(pending[...]) else {
                    guard pending.count <= Self.maxFileTableLength else { throw .malformed("the file table is too long") }
                    continue
                }
                self.entries = entries
                do { try sink.fileTable(entries) } catch let error as FormatError { throw error } catch {
                    throw .io("checking the file table failed: \(error)")
                }
                let leftover = Array(pending[length...])
                pending.removeAll(keepingCapacity: true)
                try startFile(0)
                // The rest of this piece belongs to the first file (or the manifest).
                if !leftover.isEmpty { try withBytes(leftover) { (b) throws(FormatError) in try feed(b) } }

            case .blockHeader(let file, let remaining):
                guard let header = take(PayloadLayout.blockHeaderLength, from: &rest) else { continue }
                try startBlock(header, file: file, remaining: remaining)

            case .storedData(let file, let remaining, let blockRemaining):
                let n = min(blockRemaining, rest.count)
                let piece = UnsafeRawBufferPointer(rebasing: rest.prefix(n))
                try emit(piece)
                rest = rest.dropFirst(n)
                if n == blockRemaining { try endBlock(file: file, remaining: remaining) } else {
                    state = .storedData(file: file, remaining: remaining, blockRemaining: blockRemaining - n)
                }

            case .deflateData(let file, let remaining, let rawLength, let storedLength):
                guard let block = take(storedLength, from: &rest) else { continue }
                if used == inflaters.count {
                    inflaters.append(BlockInflater())
                    compressed.append([])
                    inflated.append(.allocate(byteCount: PayloadLayout.blockSize, alignment: 16))
                    rawLengths.append(0)
                }
                compressed[used] = block
                rawLengths[used] = rawLength
                held.append(.inflated(slot: used, file: file))
                used += 1
                if used == Self.width { try flush() }
                try endBlock(file: file, remaining: remaining)

            case .manifestLength:
                guard let bytes = take(4, from: &rest) else { continue }
                let length = bytes.reduce(0) { $0 << 8 | Int($1) }
                guard (1...PayloadLayout.maxManifestLength).contains(length) else {
                    throw .malformed("manifest length \(length) is outside 1…\(PayloadLayout.maxManifestLength)")
                }
                state = .manifest(length: length)

            case .manifest(let length):
                guard let bytes = take(length, from: &rest) else { continue }
                manifestBytes = bytes
                state = .done

            case .done:
                throw .malformed("\(rest.count) bytes follow the manifest inside the payload")
            }
        }
    }

    /// Accumulates exactly `count` bytes across calls; returns them once complete.
    private func take(_ count: Int, from rest: inout Slice<UnsafeRawBufferPointer>) -> [UInt8]? {
        let n = min(count - pending.count, rest.count)
        pending.append(contentsOf: rest.prefix(n))
        rest = rest.dropFirst(n)
        guard pending.count == count else { return nil }
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    private func startFile(_ index: Int) throws(FormatError) {
        guard index < entries.count else {
            // Every file reaches the sink before the manifest is read.
            try flush()
            state = .manifestLength
            return
        }
        try output(.begin(file: index))
        if entries[index].size == 0 {
            try finishFile(index)
        } else {
            state = .blockHeader(file: index, remaining: entries[index].size)
        }
    }

    private func startBlock(_ header: [UInt8], file: Int, remaining: UInt64) throws(FormatError) {
        let name = entries[file].name.debugDescription
        guard let method = BlockMethod(rawValue: header[0]) else { throw .malformed("\(name): block method \(header[0]) is not defined") }
        let raw = Int(header[1...4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        let stored = Int(header[5...8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        // Canonical block sizes: full blocks except a file's last, which holds the remainder.
        let expected = Int(min(UInt64(PayloadLayout.blockSize), remaining))
        guard raw == expected else { throw .malformed("\(name): block declares \(raw) bytes where \(expected) are due") }
        switch method {
        case .stored:
            guard stored == raw else { throw .malformed("\(name): stored block length \(stored) differs from its raw length \(raw)") }
            state = .storedData(file: file, remaining: remaining, blockRemaining: raw)
        case .deflate:
            guard (1..<raw).contains(stored) else {
                throw .malformed("\(name): compressed block length \(stored) is not below its raw length \(raw)")
            }
            state = .deflateData(file: file, remaining: remaining, rawLength: raw, storedLength: stored)
        }
    }

    private func endBlock(file: Int, remaining: UInt64) throws(FormatError) {
        let left = remaining - min(UInt64(PayloadLayout.blockSize), remaining)
        if left == 0 { try finishFile(file) } else { state = .blockHeader(file: file, remaining: left) }
    }

    /// Stored bytes: to the sink at once, or held (copied) behind pending inflations.
    private func emit(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        guard used > 0 else { return try write(bytes) }
        held.append(.bytes(Array(bytes)))
        heldBytes += bytes.count
        if heldBytes >= Self.maxHeldBytes { try flush() }
    }

    private func finishFile(_ index: Int) throws(FormatError) {
        try output(.end(file: index))
        try startFile(index + 1)
    }

    /// Performs `event` now when nothing is pending, else holds it in order.
    private func output(_ event: Output) throws(FormatError) {
        if used > 0 { held.append(event) } else { try perform(event) }
    }

    /// Inflates the gathered blocks on all cores, then hands everything held to the sink in order.
    private func flush() throws(FormatError) {
        let failures = InflateWork(inflaters: inflaters, compressed: compressed, inflated: inflated, rawLengths: rawLengths).run(count: used)
        let events = held
        held.removeAll(keepingCapacity: true)
        heldBytes = 0
        let count = used
        used = 0
        defer { for i in 0..<count { compressed[i] = [] } }
        for event in events {
            if case .inflated(let slot, let file) = event, let failure = failures[slot] {
                throw .decompressionFailed("\(entries[file].name.debugDescription): \(failure)")
            }
            try perform(event)
        }
    }

    private func perform(_ event: Output) throws(FormatError) {
        switch event {
        case .begin(let index):
            do { try sink.beginFile(entries[index], index: index) } catch let error as FormatError { throw error } catch {
                throw .io("writing \(entries[index].name.debugDescription) failed: \(error)")
            }
            fileHasher = SHA256Hasher()
        case .bytes(var bytes):
            try withBytes(bytes) { (b) throws(FormatError) in try write(b) }
            bytes.withUnsafeMutableBytes { wipe($0) }
        case .inflated(let slot, _):
            try write(UnsafeRawBufferPointer(rebasing: inflated[slot][0..<rawLengths[slot]]))
        case .end(let index):
            digests.append(fileHasher.finalize())
            do { try sink.endFile() } catch let error as FormatError { throw error } catch {
                throw .io("writing \(entries[index].name.debugDescription) failed: \(error)")
            }
        }
    }

    private func write(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        fileHasher.update(bytes)
        do { try sink.write(bytes) } catch let error as FormatError { throw error } catch { throw .io("writing a file failed: \(error)") }
    }
}

/// One batch of block inflations; each index touches only its own inflater, buffers and error.
private struct InflateWork: @unchecked Sendable {
    let inflaters: [BlockInflater]
    let compressed: [[UInt8]]
    let inflated: [UnsafeMutableRawBufferPointer]
    let rawLengths: [Int]
    private var errors = UnsafeMutableBufferPointer<CryptoError?>(start: nil, count: 0)

    init(inflaters: [BlockInflater], compressed: [[UInt8]], inflated: [UnsafeMutableRawBufferPointer], rawLengths: [Int]) {
        self.inflaters = inflaters
        self.compressed = compressed
        self.inflated = inflated
        self.rawLengths = rawLengths
    }

    /// Inflates slots 0..<count (in parallel when there are several); each slot's error, if any.
    func run(count: Int) -> [Int: CryptoError] {
        var work = self
        work.errors = .allocate(capacity: max(count, 1))
        work.errors.initialize(repeating: nil)
        defer {
            work.errors.deinitialize()
            work.errors.deallocate()
        }
        let batch = work
        if count == 1 { batch.inflate(0) } else if count > 1 { DispatchQueue.concurrentPerform(iterations: count) { batch.inflate($0) } }
        var failures: [Int: CryptoError] = [:]
        for i in 0..<count { if let error = work.errors[i] { failures[i] = error } }
        return failures
    }

    private func inflate(_ i: Int) {
        let out = UnsafeMutableRawBufferPointer(rebasing: inflated[i][0..<rawLengths[i]])
        do {
            // An untyped closure: typed throws through stdlib's rethrows crashes the compiler.
            try compressed[i].withUnsafeBytes { c in try inflaters[i].decompress(c, into: out) }
        } catch let error as CryptoError {
            errors[i] = error
        } catch {
            errors[i] = .decompressionFailed("\(error)")
        }
    }
}
