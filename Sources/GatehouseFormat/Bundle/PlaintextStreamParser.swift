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
}

/// Parses the decrypted plaintext stream (FORMAT.md §3.5) as it arrives, chunk by chunk: the
/// file table, each file's blocks (inflated within their declared sizes), then the manifest.
///
/// An explicit state machine: every state knows exactly how many bytes it may accept, so the
/// memory it holds is bounded by the largest block (1 MiB) or the manifest (2 MiB).
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

    private var state = State.fileTable
    private var pending: [UInt8] = []
    private let sink: any OpenedFileSink
    private let inflater = BlockInflater()
    private let inflated = UnsafeMutableRawBufferPointer.allocate(byteCount: PayloadLayout.blockSize, alignment: 16)
    private var fileHasher = SHA256Hasher()

    private(set) var entries: [FileTableEntry] = []
    private(set) var digests: [SHA256Digest] = []
    private(set) var manifestBytes: [UInt8]?

    init(sink: any OpenedFileSink) { self.sink = sink }

    deinit {
        // The buffer held patient data.
        wipe(inflated)
        inflated.deallocate()
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
                guard let compressed = take(storedLength, from: &rest) else { continue }
                let out = UnsafeMutableRawBufferPointer(rebasing: inflated[0..<rawLength])
                do {
                    // An untyped closure: typed throws through stdlib's rethrows crashes the compiler.
                    try compressed.withUnsafeBytes { c in try inflater.decompress(c, into: out) }
                } catch {
                    throw .decompressionFailed("\(entries[file].name.debugDescription): \(error)")
                }
                try emit(UnsafeRawBufferPointer(out))
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
            state = .manifestLength
            return
        }
        do { try sink.beginFile(entries[index], index: index) } catch let error as FormatError { throw error } catch {
            throw .io("writing \(entries[index].name.debugDescription) failed: \(error)")
        }
        fileHasher = SHA256Hasher()
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

    private func emit(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        fileHasher.update(bytes)
        do { try sink.write(bytes) } catch let error as FormatError { throw error } catch { throw .io("writing a file failed: \(error)") }
    }

    private func finishFile(_ index: Int) throws(FormatError) {
        digests.append(fileHasher.finalize())
        do { try sink.endFile() } catch let error as FormatError { throw error } catch {
            throw .io("writing \(entries[index].name.debugDescription) failed: \(error)")
        }
        try startFile(index + 1)
    }
}
