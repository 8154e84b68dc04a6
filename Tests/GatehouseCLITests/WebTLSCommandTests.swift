import Foundation
import GatehouseTesting
import Testing

/// `gatehouse web cert` and HTTPS inside `gatehouse web`, through the binary, with curl (OpenSSL)
/// as the browser: it verifies the server's certificate against the one `web cert` wrote.
@Suite("gatehouse web over HTTPS", .serialized)
struct WebTLSCommandTests {
    /// A home with an admin account and TOTP off (curl cannot read an authenticator app; the
    /// browser test signs in with TOTP over HTTPS).
    static func home() throws -> (folder: TemporaryDirectory, home: String, password: String) {
        let folder = try TemporaryDirectory()
        let home = folder.appending("prison")
        try FileManager.default.createDirectory(atPath: folder.appending("mail"), withIntermediateDirectories: true)
        try GatehouseProcess.initialise(home, org: "YOI123", name: "HMP Northgate Healthcare",
                                        mailbox: "dir:" + folder.appending("mail"))
        let added = try GatehouseProcess.run(["users", "add", "mo.manager", "--role", "admin", "--home", home])
        let password = try #require(added.stdout.split(separator: "\n").first?.split(separator: " ").last)
        let config = home + "/gatehouse.toml"
        try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "totp = true", with: "totp = false").write(toFile: config, atomically: true, encoding: .utf8)
        return (folder, home, String(password))
    }

    /// Adds `lines` to the end of gatehouse.toml: [web] is its last table.
    static func addToWeb(_ home: String, _ lines: String) throws {
        let config = home + "/gatehouse.toml"
        try (try String(contentsOfFile: config, encoding: .utf8) + lines + "\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
    }

    static func curl(_ arguments: [String]) throws -> ProcessOutput {
        try GatehouseProcess.runProgram("/usr/bin/curl", ["-s", "-i", "--max-time", "10"] + arguments, timeout: 20)
    }

    static func mode(_ path: String) -> mode_t {
        var info = stat()
        stat(path, &info)
        return info.st_mode & 0o777
    }

    @Test func certThenSignInOverHTTPS() throws {
        let (folder, home, password) = try Self.home()
        _ = folder
        let made = try GatehouseProcess.run(["web", "cert", "--home", home])
        #expect(made.status == 0, "\(made.stderr)")
        let certificate = home + "/web/tls-certificate.pem", key = home + "/web/tls-key.pem"
        #expect(Self.mode(key) == 0o600 && Self.mode(certificate) == 0o644)
        #expect(made.stdout.contains("names: localhost, 127.0.0.1, ::1"), "\(made.stdout)")
        // The fingerprint printed is the one OpenSSL (and so a browser) computes.
        let printed = made.stdout.split(separator: "\n").first { $0.hasPrefix("SHA-256 fingerprint: ") }
        let openssl = try GatehouseProcess.runProgram(
            "/usr/bin/openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", certificate])
        #expect(printed.map { String($0.dropFirst(21)) } == openssl.stdout.split(separator: "=").last
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }, "\(made.stdout) \(openssl.stdout)")
        let keyBytes = try Data(contentsOf: URL(fileURLWithPath: key))
        let again = try GatehouseProcess.run(["web", "cert", "--home", home])
        #expect(again.status == 12 && again.stderr.contains("already exists") && again.stderr.contains("--force"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == keyBytes)
        // The printed [web] lines are what the config needs.
        let lines = made.stdout.split(separator: "\n").filter { $0.hasPrefix("tls_") }.joined(separator: "\n")
        #expect(lines.contains("tls_key = \"\(key)\""), "\(made.stdout)")
        try Self.addToWeb(home, lines)
        let forced = try GatehouseProcess.run(["web", "cert", "--home", home, "--force"])
        #expect(forced.stdout.contains("already names them"), "\(forced.stdout)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) != keyBytes)  // --force made a new key

        let port = try SSHServer.freePort()
        let web = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:\(port)"], command: ["web"])
        #expect(eventually(timeout: 20) { web.logText.contains("serving on https://127.0.0.1:\(port)/") },
                "\(web.logText)")
        let base = "https://127.0.0.1:\(port)"
        let jar = folder.appending("cookies")
        let form = try Self.curl(["--cacert", certificate, "-c", jar, base + "/signin"])
        #expect(form.stdout.hasPrefix("HTTP/1.1 200"), "\(form.stdout) \(form.stderr)")
        #expect(form.stdout.lowercased().contains("strict-transport-security: max-age=31536000"))
        let cookie = form.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") } ?? ""
        #expect(cookie.contains("__Host-gatehouse=") && cookie.contains("; Secure") && cookie.contains("HttpOnly"))
        let csrf = try #require(form.stdout.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        let signedIn = try Self.curl([
            "--cacert", certificate, "-b", jar, "-c", jar, "--data-urlencode", "csrf=\(csrf)",
            "--data-urlencode", "username=mo.manager", "--data-urlencode", "password=\(password)", base + "/signin",
        ])
        #expect(signedIn.stdout.hasPrefix("HTTP/1.1 303") && signedIn.stdout.lowercased().contains("location: /\r\n"),
                "\(signedIn.stdout)")
        let inbox = try Self.curl(["--cacert", certificate, "-b", jar, base + "/inbox"])
        #expect(inbox.stdout.hasPrefix("HTTP/1.1 200") && inbox.stdout.contains("<h1>Inbox</h1>"), "\(inbox.stdout)")
        // Without the certificate as the authority, the client refuses the server (exit 60).
        #expect(try Self.curl([base + "/signin"]).status == 60)
        // Plain HTTP to the TLS port gets no page.
        let plain = Array("GET /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        #expect(HTTPProbe.exchange(port: port, request: plain) == nil)
        let plainCurl = try Self.curl(["http://127.0.0.1:\(port)/signin"])
        #expect(plainCurl.status != 0 && !plainCurl.stdout.contains("HTTP/1.1"), "\(plainCurl.stdout)")
        #expect(web.stop() == 0)
    }

    /// The key group-readable, a key that is not the certificate's, an expired certificate and
    /// half a pair: each stops `gatehouse web` at start with a message naming the fix.
    @Test func unsafeOrWrongPairsAreRefusedAtStart() throws {
        let (folder, home, _) = try Self.home()
        _ = folder
        #expect(try GatehouseProcess.run(["web", "cert", "--home", home, "--host", "gatehouse.example"]).status == 0)
        let certificate = home + "/web/tls-certificate.pem", key = home + "/web/tls-key.pem"
        let config = home + "/gatehouse.toml"
        let original = try String(contentsOfFile: config, encoding: .utf8)
        func serve(certificate: String, key: String?) throws -> ProcessOutput {
            var lines = "tls_certificate = \"\(certificate)\""
            if let key { lines += "\ntls_key = \"\(key)\"" }
            try (original + lines + "\n").write(toFile: config, atomically: true, encoding: .utf8)
            return try GatehouseProcess.run(["web", "--home", home, "--listen", "127.0.0.1:0"], timeout: 30)
        }
        chmod(key, 0o644)
        let readable = try serve(certificate: certificate, key: key)
        #expect(readable.status == 12 && readable.stderr.contains("has mode 0644")
            && readable.stderr.contains("chmod 600 \(key)"), "\(readable.stderr)")
        chmod(key, 0o600)
        // A certificate that expires within 30 days: served, with a warning at start.
        #expect(try GatehouseProcess.run(["web", "cert", "--home", home, "--days", "10", "--force"]).status == 0)
        try (original + "tls_certificate = \"\(certificate)\"\ntls_key = \"\(key)\"\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let soon = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:0"], command: ["web"])
        #expect(eventually(timeout: 20) { soon.logText.contains("serving on https://") }, "\(soon.logText)")
        #expect(soon.logText.contains("warning: the certificate in tls_certificate \(certificate) expires on "))
        #expect(soon.stop() == 0)
        let half = try serve(certificate: certificate, key: nil)
        #expect(half.status == 12 && half.stderr.contains("tls_certificate needs tls_key"), "\(half.stderr)")

        // Another pair's key.
        let other = folder.appending("other")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        let ca = "[ca]\ndefault_ca = d\n[d]\ndatabase = \(other)/index.txt\nnew_certs_dir = \(other)\n"
            + "serial = \(other)/serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n"
        try ca.write(toFile: other + "/ca.cnf", atomically: true, encoding: .utf8)
        try "".write(toFile: other + "/index.txt", atomically: true, encoding: .utf8)
        try "01\n".write(toFile: other + "/serial", atomically: true, encoding: .utf8)
        let request = try GatehouseProcess.runProgram("/usr/bin/openssl", [
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            other + "/key.pem", "-subj", "/CN=localhost", "-out", other + "/req.csr",
        ])
        #expect(request.status == 0, "\(request.stderr)")
        let mismatched = try serve(certificate: certificate, key: other + "/key.pem")
        #expect(mismatched.status == 12 && mismatched.stderr.contains("is not the key of the certificate"),
                "\(mismatched.stderr)")

        // A certificate that expired in 2020, with its own key.
        let expiredCertificate = other + "/expired.pem"
        let signed = try GatehouseProcess.runProgram("/usr/bin/openssl", [
            "ca", "-config", other + "/ca.cnf", "-selfsign", "-keyfile", other + "/key.pem", "-in", other + "/req.csr",
            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-batch", "-notext", "-out",
            expiredCertificate,
        ])
        #expect(signed.status == 0, "\(signed.stderr)")
        let expired = try serve(certificate: expiredCertificate, key: other + "/key.pem")
        #expect(expired.status == 12 && expired.stderr.contains("expired on 2020-02-01"), "\(expired.stderr)")
        // `run --web` refuses the same way before it starts anything.
        let run = try GatehouseProcess.run(["run", "--home", home, "--web", "127.0.0.1:0"], timeout: 30)
        #expect(run.status == 12 && run.stderr.contains("expired on 2020-02-01"), "\(run.stderr)")
    }

    /// Plain HTTP anywhere but loopback is refused even with a TLS proxy said to be in front
    /// (the hop from the proxy would be in clear); with the server's own TLS it is allowed.
    @Test func plainHTTPOffLoopbackIsRefusedEvenBehindAProxy() throws {
        let (folder, home, _) = try Self.home()
        _ = folder
        let config = home + "/gatehouse.toml"
        let original = try String(contentsOfFile: config, encoding: .utf8)
        try original.replacingOccurrences(of: "behind_tls_proxy = false", with: "behind_tls_proxy = true")
            .write(toFile: config, atomically: true, encoding: .utf8)
        let refused = try GatehouseProcess.run(["web", "--listen", "0.0.0.0:8443", "--home", home])
        #expect(refused.status == 12 && refused.stderr.contains("refusing to listen on 0.0.0.0 over plain HTTP")
            && refused.stderr.contains("tls_certificate"), "\(refused.stderr)")
        let checked = try GatehouseProcess.run(["config", "check", "--home", home])
        #expect(checked.status == 0 && checked.stdout.contains("web.tls_certificate        (none: plain HTTP"),
                "\(checked.stdout)")
    }
}
