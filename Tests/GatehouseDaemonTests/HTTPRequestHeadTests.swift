import Testing

@testable import GatehouseDaemon

/// The metrics server's request line is anyone's text on the network: split on bytes.
@Suite("HTTP request head")
struct HTTPRequestHeadTests {
    func head(_ line: String) throws -> HTTPRequestHead { try HTTPRequestHead(Array("\(line)\r\n\r\n".utf8)) }

    @Test func theRequestLineIsSplitOnBytes() throws {
        // "?\u{301}" is no Character "?": the query stayed in the path, and /healthz was not found.
        #expect(Array(try head("GET /healthz?\u{301}x HTTP/1.1").path.utf8) == Array("/healthz".utf8))
        // "/\u{301}" is no Character "/": a path starting so was refused as malformed (a 400, not a 404).
        #expect(Array(try head("GET /\u{301}metrics HTTP/1.1").path.utf8) == Array("/\u{301}metrics".utf8))
        let plain = try head("HEAD /metrics HTTP/1.0")
        #expect(plain.method == "HEAD" && plain.path == "/metrics")
        for bad in ["GET /x HTTP/1.1\u{301}", "GET x HTTP/1.1", "GET  /x HTTP/1.1", " /x HTTP/1.1", "GET /x HTTP/2"] {
            #expect(throws: HTTPRequestHead.Malformed.self, "\(bad.debugDescription)") { try head(bad) }
        }
    }
}
