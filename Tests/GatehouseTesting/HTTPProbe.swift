import Foundation
import Glibc

/// A minimal HTTP client for scraping `gatehouse run --metrics` on 127.0.0.1 in tests: sends raw
/// request bytes, reads until the server closes, and splits status and body.
public enum HTTPProbe {
    /// The status code and body of the answer to `request`, or nil when nothing answered.
    public static func exchange(port: Int, request: [UInt8]) -> (status: Int, body: String)? {
        guard let fd = connectLoopback(port: port) else { return nil }
        defer { close(fd) }
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            answer += chunk[..<n]
        }
        let text = String(decoding: answer, as: UTF8.self)
        guard let statusLine = text.split(separator: "\r\n").first, let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }),
              let split = text.range(of: "\r\n\r\n") else { return nil }
        return (code, String(text[split.upperBound...]))
    }

    /// A TCP socket connected to 127.0.0.1:`port` with a receive time-out, or nil; the caller closes it.
    public static func connectLoopback(port: Int, timeoutSeconds: Int = 10) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(fd)
            return nil
        }
        return fd
    }

    /// `GET path`.
    public static func get(port: Int, _ path: String) -> (status: Int, body: String)? {
        exchange(port: port, request: Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: gatehouse-tests\r\n\r\n".utf8))
    }

    /// The value of the sample `name{labels}` (labels exactly as exposed) in Prometheus text.
    public static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}
