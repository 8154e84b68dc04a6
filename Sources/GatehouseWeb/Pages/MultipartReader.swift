import Glibc

/// A streaming `multipart/form-data` reader (RFC 7578): bytes go in as they arrive, and come out
/// as part headers, body bytes and part ends, never holding more than one chunk plus a
/// delimiter's length. Searches with `memchr`, so a large upload costs little more than a copy.
struct MultipartReader {
    /// What the reader found, in order.
    enum Event {
        case headers([(name: String, value: String)])
        case body(ArraySlice<UInt8>)
        case partEnd
    }

    struct Malformed: Error {}

    private enum State { case preamble, headers, body, afterDelimiter, done }

    /// `\r\n--boundary`: what ends a part's body.
    private let delimiter: [UInt8]
    private var pending: [UInt8]
    private var state = State.preamble
    /// The most header bytes one part may have.
    static let headerLimit = 8192

    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // The body starts with `--boundary`: as if a CRLF came first, the first delimiter is found
        // the same way as every later one.
        pending = [0x0D, 0x0A]
    }

    /// True once the closing delimiter was read.
    var isFinished: Bool { state == .done }

    /// Feeds the next bytes; `emit` receives what they complete.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Event) throws -> Void) throws {
        guard state != .done else { return }  // the epilogue is ignored
        pending.append(contentsOf: bytes)
        var start = 0
        defer { pending.removeFirst(start) }
        while start < pending.count {
            switch state {
            case .preamble, .body:
                if let found = find(delimiter, from: start) {
                    if state == .body {
                        if found > start { try emit(.body(pending[start..<found])) }
                        try emit(.partEnd)
                    }
                    start = found + delimiter.count
                    state = .afterDelimiter
                } else {
                    // Keep what could be the start of a delimiter split across chunks.
                    let safe = max(start, pending.count - (delimiter.count - 1))
                    if state == .body && safe > start { try emit(.body(pending[start..<safe])) }
                    start = safe
                    return
                }
            case .afterDelimiter:
                guard pending.count - start >= 2 else { return }
                let two = (pending[start], pending[start + 1])
                if two == (0x2D, 0x2D) {
                    state = .done
                    start = pending.count
                    return
                }
                guard two == (0x0D, 0x0A) else { throw Malformed() }
                start += 2
                state = .headers
            case .headers:
                guard let end = find([0x0D, 0x0A, 0x0D, 0x0A], from: start) else {
                    guard pending.count - start <= Self.headerLimit else { throw Malformed() }
                    return
                }
                guard end - start <= Self.headerLimit else { throw Malformed() }
                try emit(.headers(try Self.headers(pending[start..<end])))
                start = end + 4
                state = .body
            case .done:
                return
            }
        }
    }

    /// `Name: value` lines (names lower-cased); a line without a colon is malformed.
    static func headers(_ bytes: ArraySlice<UInt8>) throws -> [(name: String, value: String)] {
        guard !bytes.isEmpty else { return [] }
        var lines: [ArraySlice<UInt8>] = []
        var rest = bytes
        while let cr = rest.firstIndex(of: 0x0D), cr + 1 < rest.endIndex, rest[cr + 1] == 0x0A {
            lines.append(rest[rest.startIndex..<cr])
            rest = rest[(cr + 2)...]
        }
        lines.append(rest)
        return try lines.map { line in
            guard let colon = line.firstIndex(of: 0x3A) else { throw Malformed() }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).lowercased()
            let value = line[(colon + 1)...].drop { $0 == 0x20 || $0 == 0x09 }
            return (name, String(decoding: value, as: UTF8.self))
        }
    }

    /// The first index at or after `from` where `needle` starts in `pending`.
    private func find(_ needle: [UInt8], from: Int) -> Int? {
        pending.withUnsafeBytes { haystack -> Int? in
            guard let base = haystack.baseAddress else { return nil }
            var at = from
            while at + needle.count <= haystack.count {
                guard let hit = memchr(base + at, Int32(needle[0]), haystack.count - at) else { return nil }
                let index = base.distance(to: UnsafeRawPointer(hit))
                guard index + needle.count <= haystack.count else { return nil }
                if memcmp(base + index, needle, needle.count) == 0 { return index }
                at = index + 1
            }
            return nil
        }
    }
}
