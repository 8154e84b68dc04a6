/// The parts of an HTTP/1.1 request head (RFC 9112 §3) the metrics server needs: method and
/// path. Strict: a request line of three parts, an HTTP/1.x version, no control characters.
struct HTTPRequestHead: Equatable {
    /// A refusal, with the reason for the 400 answer.
    struct Malformed: Error {
        let reason: String
    }

    /// The method, case-sensitive (RFC 9110 §9.1).
    let method: String
    /// The target's path, without a query.
    let path: String

    /// True once `bytes` hold the blank line that ends a head (RFC 9112 §2.1: CRLF CRLF; a bare
    /// LF is accepted as a line end, §2.2).
    static func isComplete(_ bytes: [UInt8]) -> Bool {
        var previous: UInt8 = 0
        var sawLineEnd = false
        for byte in bytes {
            if byte == 0x0a {
                if sawLineEnd { return true }
                sawLineEnd = true
            } else if !(byte == 0x0d && previous == 0x0a) {
                sawLineEnd = false
            }
            previous = byte
        }
        return false
    }

    /// Parses the request line of `bytes`.
    init(_ bytes: [UInt8]) throws(Malformed) {
        guard let end = bytes.firstIndex(of: 0x0a) else { throw Malformed(reason: "no request line") }
        var line = bytes[..<end]
        if line.last == 0x0d { line = line.dropLast() }
        guard !line.contains(where: { $0 < 0x20 || $0 == 0x7f }) else { throw Malformed(reason: "control character in the request line") }
        // Bytes throughout: "/\u{301}" does not start with the Character "/", and "?\u{301}" is
        // no Character "?", so a Character parser kept such a query in the path.
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].first == UInt8(ascii: "/") else {
            throw Malformed(reason: "malformed request line")
        }
        guard parts[2].elementsEqual("HTTP/1.1".utf8) || parts[2].elementsEqual("HTTP/1.0".utf8) else {
            throw Malformed(reason: "unsupported HTTP version")
        }
        method = String(decoding: parts[0], as: UTF8.self)
        path = String(decoding: parts[1].prefix { $0 != UInt8(ascii: "?") }, as: UTF8.self)
    }
}

/// A complete response; the connection closes after it.
struct HTTPResponse: Error {
    let status: Int
    let reason: String
    let contentType: String
    let body: [UInt8]
    var extra: [String] = []

    /// A plain-text response.
    static func text(_ status: Int, _ reason: String, _ body: String, extra: [String] = []) -> HTTPResponse {
        HTTPResponse(status: status, reason: reason, contentType: "text/plain; charset=utf-8", body: Array(body.utf8), extra: extra)
    }

    /// Status line, headers and body.
    func encoded() -> [UInt8] {
        let headers = ["HTTP/1.1 \(status) \(reason)", "Content-Type: \(contentType)", "Content-Length: \(body.count)",
                       "Cache-Control: no-store", "Connection: close"] + extra
        return Array((headers.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
    }
}
