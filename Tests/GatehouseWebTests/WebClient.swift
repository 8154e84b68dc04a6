import Foundation
import GatehouseTesting
import Glibc

/// An HTTP/1.1 client over a raw socket to 127.0.0.1, so tests control every byte: cookies,
/// missing tokens, odd paths. One request per connection (`Connection: close`).
struct WebClient {
    let port: Int
    /// The session cookie (`name=value`) sent with each request, updated from Set-Cookie.
    var cookie: String?

    struct Answer: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        func headers(_ name: String) -> [String] { headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1) }

        /// The value of the hidden `csrf` field on the page.
        var csrf: String? { capture(#"name="csrf" value=""#, until: "\"") }

        /// The text after `start` up to `end`.
        func capture(_ start: String, until end: String) -> String? {
            guard let a = text.range(of: start), let b = text[a.upperBound...].range(of: end) else { return nil }
            return String(text[a.upperBound..<b.lowerBound])
        }
    }

    init(port: Int) { self.port = port }

    @discardableResult
    mutating func send(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = [],
        keepCookie: Bool = true
    ) async throws -> Answer {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let cookie { head += "Cookie: \(cookie)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        let port = self.port
        // Off Swift's cooperative threads: the server under test runs its handlers there, and a
        // blocked recv on a 2-core machine would leave it none.
        let answer: Answer = try await withCheckedThrowingContinuation { done in
            Thread.detachNewThread { done.resume(with: Result { try Self.exchange(port: port, request) }) }
        }
        if keepCookie, let set = answer.header("set-cookie"), let pair = set.split(separator: ";").first {
            cookie = pair.hasSuffix("=") ? nil : String(pair)
        }
        return answer
    }

    mutating func get(_ path: String) async throws -> Answer { try await send("GET", path) }

    /// POSTs a urlencoded form.
    mutating func post(
        _ path: String, _ fields: [(String, String)], headers: [(String, String)] = []
    ) async throws
        -> Answer
    {
        let body = fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(
            "POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
            body: Array(body.utf8))
    }

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(
            withAllowedCharacters: CharacterSet(
                charactersIn:
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func exchange(port: Int, _ request: [UInt8]) throws -> Answer {
        guard let fd = HTTPProbe.connectLoopback(port: port, timeoutSeconds: 30) else {
            throw Failure(description: "cannot connect to port \(port)")
        }
        defer { close(fd) }
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }  // the server may answer and close before reading everything
            sent += n
        }
        return try read(fd)
    }

    /// Reads the answer until the server closes the connection.
    static func read(_ fd: Int32, stopAtLength: Bool = false) throws -> Answer {
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            answer += chunk[..<n]
            if stopAtLength, let end = answer.firstRange(of: Array("\r\n\r\n".utf8)),
                let length = String(decoding: answer[..<end.lowerBound], as: UTF8.self).lowercased()
                    .components(separatedBy: "\r\n").first(where: { $0.hasPrefix("content-length:") })
                    .flatMap({ Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) }),
                answer.count - end.upperBound >= length
            {
                break
            }
        }
        guard let split = answer.firstRange(of: Array("\r\n\r\n".utf8)) else {
            throw Failure(description: "no HTTP answer (\(answer.count) bytes)")
        }
        let head = String(decoding: answer[..<split.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        guard let status = head.first?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Failure(description: "bad status line")
        }
        let headers = head.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(answer[split.upperBound...])
        if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1 == "chunked" }) {
            body = dechunk(body)
        }
        return Answer(status: status, headers: headers, body: body)
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count, let end = bytes[i...].firstRange(of: Array("\r\n".utf8)) {
            let size = Int(String(decoding: bytes[i..<end.lowerBound], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            out += bytes[end.upperBound..<min(bytes.count, end.upperBound + size)]
            i = end.upperBound + size + 2
        }
        return out
    }
}

extension WebClient {
    /// POSTs `prefix`, then `size` generated bytes (1 MiB at a time, from one reused buffer), then
    /// `suffix`, so a test can upload far more than it ever holds in memory.
    func streamPost(_ path: String, contentType: String, prefix: [UInt8], size: Int, suffix: [UInt8]) async throws
        -> Answer
    {
        // Keep-alive, as a browser: the server then reads (and drops) what follows a refusal, and
        // the answer is read up to its Content-Length.
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        if let cookie { head += "Cookie: \(cookie)\r\n" }
        head += "Content-Type: \(contentType)\r\nContent-Length: \(prefix.count + size + suffix.count)\r\n\r\n"
        let port = self.port
        let start = Array(head.utf8) + prefix
        return try await withCheckedThrowingContinuation { done in
            Thread.detachNewThread {
                done.resume(
                    with: Result {
                        guard let fd = HTTPProbe.connectLoopback(port: port, timeoutSeconds: 120) else {
                            throw Failure(description: "cannot connect")
                        }
                        defer { close(fd) }
                        var chunk = [UInt8](repeating: 0x5A, count: 1 << 20)
                        func write(_ bytes: ArraySlice<UInt8>) -> Bool {
                            var sent = bytes.startIndex
                            while sent < bytes.endIndex {
                                let n = bytes[sent...].withUnsafeBytes {
                                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                                }
                                guard n > 0 else { return false }
                                sent += n
                            }
                            return true
                        }
                        var left = size
                        var open = write(start[...])
                        while open && left > 0 {
                            let n = min(left, chunk.count)
                            chunk[0] = UInt8(truncatingIfNeeded: left)
                            open = write(chunk[0..<n])
                            left -= n
                        }
                        if open { _ = write(suffix[...]) }
                        return try Self.read(fd, stopAtLength: true)
                    })
            }
        }
    }
}
