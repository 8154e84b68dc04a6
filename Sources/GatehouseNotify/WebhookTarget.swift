import GatehouseCrypto
import Glibc
public import GatehouseKit

/// POSTs events to an HTTP(S) URL (`[notify.webhook]`). Bounded everywhere: the connection and
/// each read or write by `timeout`, the whole request by twice that, the answer's head by
/// ``maxHead`` bytes and its body by ``maxBody`` (the rest is never read): a receiver that never
/// answers, or answers without end, costs one timeout and a few KiB.
public struct WebhookTarget: Sendable {
    /// The most bytes of status line and headers read.
    static let maxHead = 16 * 1024
    /// The most bytes of the answer's body read (kept for the log).
    static let maxBody = 4 * 1024

    let url: WebhookURL
    let settings: NotifySettings.Webhook

    /// A target for `settings`; fails when its URL cannot be used.
    public init(_ settings: NotifySettings.Webhook) throws(NotifyError) {
        url = try WebhookURL(settings.url)
        self.settings = settings
    }

    /// Sends `body` (an event of kind `event` with id `id`); returns the answer's status line.
    /// Blocking: run it through ``BlockingWork``.
    public func send(_ body: [UInt8], event: String, id: String) throws(NotifyError) -> String {
        let timeout = settings.timeout.milliseconds
        let end = NotifySocket.now() + 2 * timeout
        let step = { min(end, NotifySocket.now() + timeout) }
        let socket = try NotifySocket.connect(host: url.host, port: url.port, deadline: step())
        let stream: NotifyStream = url.secure
            ? try TLSStream(socket: socket, host: url.host, caFile: settings.caFile, deadline: step())
            : socket
        try stream.writeAll(try request(body, event: event, id: id), until: step())
        var head: [UInt8] = []
        while Self.endOfHead(head) == nil {
            guard head.count < Self.maxHead else {
                throw NotifyError(.rejected, "the answer's headers exceed \(Self.maxHead) bytes")
            }
            let chunk = try stream.read(upTo: Self.maxHead - head.count, until: step())
            guard !chunk.isEmpty else { break }
            head += chunk
        }
        let firstLine = head.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        let statusLine = LogText.line(firstLine, limit: 200)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]),
              (100...599).contains(code) else {
            throw NotifyError(.rejected, "the answer is not HTTP: \(statusLine.debugDescription)")
        }
        guard (200...299).contains(code) else {
            // A little of the body, for the log: the rest is never read.
            var body = Array(head[(Self.endOfHead(head) ?? head.count)...])
            if body.count < Self.maxBody, let more = try? stream.read(upTo: Self.maxBody - body.count, until: step()) {
                body += more
            }
            let text = LogText.line(body, limit: 200)
            let shown = text.isEmpty ? "" : ": " + text
            throw NotifyError(.rejected, "HTTP \(code)\(shown)")
        }
        return statusLine
    }

    /// Checks, without sending anything, that the receiver can be reached: a connection and,
    /// for `https://`, a verified TLS handshake; then the secret file, if any, is checked too.
    /// Returns what was checked (`gatehouse doctor`).
    public func probe(timeout: Duration) async throws(NotifyError) -> String {
        let url = self.url, settings = self.settings
        let milliseconds = timeout.milliseconds
        let stopped = NotifyError(.timeout, "stopped")
        let outcome: Result<String, NotifyError> = await BlockingWork.run(cancelled: .failure(stopped)) {
            do throws(NotifyError) {
                let deadline = NotifySocket.now() + milliseconds
                let socket = try NotifySocket.connect(host: url.host, port: url.port, deadline: deadline)
                if url.secure {
                    _ = try TLSStream(socket: socket, host: url.host, caFile: settings.caFile, deadline: deadline)
                }
                if let secretFile = settings.secretFile { _ = try Self.readSecret(secretFile) }
                return .success("\(url.host):\(url.port) answers\(url.secure ? ", its certificate verified" : "")")
            } catch {
                return .failure(error)
            }
        }
        return try outcome.get()
    }

    /// The request: POST with the JSON body, the event kind and id, and with a secret file the
    /// HMAC-SHA256 of the body (`X-Gatehouse-Signature: sha256=<hex>`, as GitHub's webhooks).
    func request(_ body: [UInt8], event: String, id: String) throws(NotifyError) -> [UInt8] {
        var lines = [
            "POST \(url.path) HTTP/1.1", "Host: \(url.hostHeader)", "User-Agent: gatehouse/\(GatehouseVersion.current)",
            "Content-Type: application/json", "Content-Length: \(body.count)", "X-Gatehouse-Event: \(event)",
            "X-Gatehouse-Delivery: \(id)", "Connection: close",
        ]
        if let secretFile = settings.secretFile {
            let secret = try Self.readSecret(secretFile)
            lines.append("X-Gatehouse-Signature: sha256=" + HMAC.authenticate(body, key: secret, hash: .sha256).hexString)
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
    }

    /// The shared secret: the file's bytes without a final line end; refused when others may
    /// read it or it is empty.
    static func readSecret(_ path: String) throws(NotifyError) -> SecretBytes {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw NotifyError(.invalidTarget,
                              "cannot read the webhook secret \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o007 == 0 else {
            throw NotifyError(.invalidTarget, "the webhook secret \(path) can be read by others: chmod 600 or 640 it")
        }
        guard var bytes = try? FileOperations.read(at: path, limit: 4096, followingLinks: true), !bytes.isEmpty else {
            throw NotifyError(.invalidTarget, "cannot read the webhook secret \(path) (empty, missing or over 4 KiB)")
        }
        while bytes.last == UInt8(ascii: "\n") || bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        defer { for i in bytes.indices { bytes[i] = 0 } }
        return SecretBytes(copying: bytes)
    }

    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        let end: [UInt8] = [13, 10, 13, 10]
        for i in 0...(bytes.count - 4) where bytes[i..<(i + 4)].elementsEqual(end) {
            return i + 4
        }
        return nil
    }
}

/// A webhook URL: `http[s]://host[:port][/path]`, nothing else (no user name or password, no
/// fragment), so that nothing in it can smuggle a second request line.
struct WebhookURL: Sendable, Equatable {
    let secure: Bool
    let host: String
    let port: Int
    let path: String

    init(_ text: String) throws(NotifyError) {
        let bad = { (why: String) in NotifyError(.invalidTarget, "webhook URL \(text.debugDescription): \(why)") }
        guard text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
            throw bad("spaces or control characters")
        }
        if text.hasPrefix("https://") { secure = true } else if text.hasPrefix("http://") { secure = false } else {
            throw bad("not http:// or https://")
        }
        let rest = text.dropFirst(secure ? 8 : 7)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        let tail = rest.dropFirst(authority.count)
        path = tail.isEmpty ? "/" : (tail.hasPrefix("/") ? String(tail) : "/" + tail)
        guard !authority.contains("@"), !path.contains("#") else { throw bad("no user name, password or fragment") }
        var hostPart = Substring(authority), portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw bad("unclosed [") }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portPart = after.dropFirst()
            } else if !after.isEmpty {
                throw bad("text after ]")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw bad("no host") }
        host = String(hostPart)
        if let portPart {
            guard let number = Int(portPart), (1...65535).contains(number) else { throw bad("the port is not 1-65535") }
            port = number
        } else {
            port = secure ? 443 : 80
        }
    }

    /// The Host header: the host as written, with the port unless it is the default.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }
}
