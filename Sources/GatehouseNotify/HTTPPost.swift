import Glibc
import GatehouseKit

/// One HTTP/1.1 POST to an `http[s]://` URL, bounded like a webhook (``WebhookTarget``): the
/// connection and each read or write by `timeout`, the whole exchange by twice that, the answer
/// by `maxAnswer` bytes. Used by `network publish` to ask witnesses for cosignatures.
/// Blocking: call it from a command or through ``BlockingWork``.
public enum HTTPPost {
    /// The answer: its status code, `Content-Type` (when given) and body.
    public struct Answer: Sendable, Equatable {
        /// The status code.
        public let status: Int
        /// The `Content-Type` header's value, nil when absent.
        public let contentType: String?
        /// The body (at most `maxAnswer` bytes).
        public let body: [UInt8]
    }

    /// POSTs `body` to `url` and reads the whole answer; `caFile` overrides the system's
    /// certificate authorities for `https://`.
    public static func send(
        _ body: [UInt8], to url: String, contentType: String, timeout: Duration, maxAnswer: Int = 64 * 1024,
        caFile: String? = nil
    ) throws(NotifyError) -> Answer {
        let target = try WebhookURL(url)
        let milliseconds = timeout.milliseconds
        let end = NotifySocket.now() + 2 * milliseconds
        let step = { min(end, NotifySocket.now() + milliseconds) }
        let socket = try NotifySocket.connect(host: target.host, port: target.port, deadline: step())
        let stream: NotifyStream =
            target.secure ? try TLSStream(socket: socket, host: target.host, caFile: caFile, deadline: step()) : socket
        let head = [
            "POST \(target.path) HTTP/1.1", "Host: \(target.hostHeader)",
            "User-Agent: gatehouse/\(GatehouseVersion.current)", "Content-Type: \(contentType)",
            "Content-Length: \(body.count)", "Connection: close",
        ]
        try stream.writeAll(Array((head.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body, until: step())
        // The server closes after its answer (Connection: close): read to the end, within bounds.
        let limit = WebhookTarget.maxHead + maxAnswer
        var answer: [UInt8] = []
        while answer.count <= limit {
            let chunk = try stream.read(upTo: limit + 1 - answer.count, until: step())
            if chunk.isEmpty { break }
            answer += chunk
        }
        guard answer.count <= limit else { throw NotifyError(.rejected, "the answer from \(url) exceeds \(limit) bytes") }
        return try parse(answer, from: url)
    }

    /// Status line, headers and body of a complete answer.
    static func parse(_ answer: [UInt8], from url: String) throws(NotifyError) -> Answer {
        guard let end = WebhookTarget.endOfHead(answer) else {
            throw NotifyError(.rejected, "the answer from \(url) ended before its headers did")
        }
        let lines = String(decoding: answer[..<(end - 4)], as: UTF8.self).split(separator: "\r\n")
        let status = lines.first?.split(separator: " ", maxSplits: 2) ?? []
        guard status.count >= 2, status[0].hasPrefix("HTTP/1."), let code = Int(status[1]), (100...599).contains(code)
        else { throw NotifyError(.rejected, "the answer from \(url) is not HTTP") }
        var type: String?
        var length: Int?
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let value = parts[1].drop { $0 == " " || $0 == "\t" }
            switch parts[0].lowercased() {
            case "content-type": type = String(value)
            case "content-length": length = Int(value)
            case "transfer-encoding":
                throw NotifyError(.rejected, "the answer from \(url) is sent in chunks, which is not read here")
            default: break
            }
        }
        let body = Array(answer[end...])
        // A body cut short is no answer: a truncated cosignature must not pass for a refusal's text.
        if let length, body.count != length {
            throw NotifyError(.rejected, "the answer from \(url) has \(body.count) bytes, not the \(length) announced")
        }
        return Answer(status: code, contentType: type, body: body)
    }
}
