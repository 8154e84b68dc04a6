import Foundation
import Glibc
import GatehouseKit

/// A real HTTP(S) receiver on 127.0.0.1 for notification tests: Python's `http.server` (TLS with
/// its `ssl` module), started on a free port. Each request it reads is saved as a JSON file
/// (`headers`, `body`) in its folder. Modes:
/// - `ok`: answers 200;
/// - `fail:N`: answers 500 to the first N requests, then 200;
/// - `hang`: reads the request, then never answers;
/// - `endless`: answers 500 and a body that never ends;
/// - `endless-head`: answers a status line and headers that never end;
/// - `evil`: answers 503 with terminal escapes and a new line in its status line and body.
public final class WebhookReceiver: @unchecked Sendable {
    /// Its folder (requests are `request-<n>.json`).
    public let folder: TemporaryDirectory
    /// The port it listens on.
    public let port: Int
    private let process: ChildProcess

    /// Starts a receiver in `mode`; with `certificate` and `key` (PEM files) it speaks HTTPS.
    public init(mode: String = "ok", certificate: String? = nil, key: String? = nil) throws {
        folder = try TemporaryDirectory(prefix: "gatehouse-webhook")
        let portFile = folder.appending("port")
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        process = try ChildProcess(
            executable: "/usr/bin/env",
            arguments: ["python3", "-c", Self.script, folder.path, mode, certificate ?? "", key ?? ""],
            stdin: null, stdout: null, stderr: null,
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        guard eventually(timeout: 15, { FileManager.default.fileExists(atPath: portFile) }),
              let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) else {
            process.send(SIGKILL)
            throw GatehouseProcess.LaunchError(description: "the webhook receiver did not start")
        }
        self.port = port
    }

    deinit {
        process.send(SIGKILL)
        process.wait()
    }

    /// `http://127.0.0.1:<port>/hook` (or with `host` and https when given).
    public func url(host: String = "127.0.0.1", secure: Bool = false) -> String {
        "\(secure ? "https" : "http")://\(host):\(port)/hook"
    }

    /// The requests received so far, oldest first: headers (names lower-cased) and body.
    public var requests: [(headers: [String: String], body: [UInt8])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasPrefix("request-") }
            .sorted { Int($0.dropFirst(8).dropLast(5)) ?? 0 < Int($1.dropFirst(8).dropLast(5)) ?? 0 }
        return names.compactMap { name in
            guard let data = FileManager.default.contents(atPath: folder.appending(name)),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let headers = object["headers"] as? [String: String], let body = object["body"] as? String,
                  let bytes = Data(base64Encoded: body) else { return nil }
            return (headers, Array(bytes))
        }
    }

    /// The bodies received so far, each decoded as a JSON object.
    public var events: [[String: Any]] {
        requests.compactMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [String: Any] }
    }

    static let script = #"""
import base64, http.server, json, os, socket, ssl, sys, threading, time
folder, mode, cert, key = sys.argv[1:5]
count = [0]
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count[0] += 1
            n = count[0]
        record = {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": base64.b64encode(body).decode()}
        tmp = os.path.join(folder, ".request-%d" % n)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(folder, "request-%d.json" % n))
        if mode == "hang":
            time.sleep(3600)
        elif mode == "endless":
            self.wfile.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n")
            while True:
                self.wfile.write(b"x" * 65536)
        elif mode == "evil":
            body = b"line one\n2026-12-05T06:00:00Z error forged \x1b[0m"
            self.wfile.write(b"HTTP/1.1 503 \x1b[2Jbusy\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        elif mode == "endless-head":
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            while True:
                self.wfile.write(b"X-Filler: " + b"y" * 1000 + b"\r\n")
        else:
            failures = int(mode.split(":")[1]) if mode.startswith("fail:") else 0
            status = 500 if n <= failures else 200
            answer = b"no" if status == 500 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if cert:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(os.path.join(folder, ".port"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(folder, ".port"), os.path.join(folder, "port"))
server.serve_forever()
"""#
}

/// A certificate authority and server certificates made with the `openssl` command, for HTTPS
/// tests: `ca.pem`; `localhost.pem`/`.key` (signed by it, for the name `localhost`);
/// `wrong.pem`/`.key` (signed by it, for `wrong.example`); `rogue.pem`/`.key` (for `localhost`,
/// signed by another, untrusted authority).
public final class TestCertificates: Sendable {
    /// The folder holding the files.
    public let folder: TemporaryDirectory

    /// Makes the authorities and certificates.
    public init() throws {
        folder = try TemporaryDirectory(prefix: "gatehouse-certs")
        let dir = folder.path
        for ca in ["ca", "rogue-ca"] {
            try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", "\(dir)/\(ca).key", "-out", "\(dir)/\(ca).pem", "-days", "2",
                              "-subj", "/CN=Gatehouse test \(ca)"])
        }
        for (name, host, ca) in [("localhost", "localhost", "ca"), ("wrong", "wrong.example", "ca"),
                                 ("rogue", "localhost", "rogue-ca")] {
            try Data("subjectAltName=DNS:\(host)\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/\(name).ext"))
            try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", "\(dir)/\(name).key", "-out", "\(dir)/\(name).csr", "-subj", "/CN=\(host)"])
            try Self.openssl(["x509", "-req", "-in", "\(dir)/\(name).csr", "-CA", "\(dir)/\(ca).pem",
                              "-CAkey", "\(dir)/\(ca).key", "-CAcreateserial", "-out", "\(dir)/\(name).pem",
                              "-days", "2", "-extfile", "\(dir)/\(name).ext"])
        }
    }

    /// `folder/name`.
    public func path(_ name: String) -> String { folder.appending(name) }

    private static func openssl(_ arguments: [String]) throws {
        let made = try GatehouseProcess.runProgram("/usr/bin/openssl", arguments, timeout: 30)
        guard made.status == 0 else {
            throw GatehouseProcess.LaunchError(description: "openssl \(arguments[0]) failed: \(made.stderr)")
        }
    }
}
