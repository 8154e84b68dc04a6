import Foundation
import GatehouseTesting
import Testing

/// `gatehouse users` and `gatehouse web` / `run --web` through the binary.
@Suite("gatehouse users and web", .serialized)
struct WebCommandTests {
    @Test func usersAddListResetDisable() throws {
        let pair = try DaemonPair()
        let home = ["--home", pair.prison]
        let added = try GatehouseProcess.run(["users", "add", "anna.nurse", "--role", "clinician"] + home)
        #expect(added.status == 0 && added.stdout.contains("first sign-in password: "), "\(added.stderr)")
        #expect(try GatehouseProcess.run(["users", "add", "anna.nurse", "--role", "admin"] + home).status == 12)
        #expect(try GatehouseProcess.run(["users", "add", "Anna Nurse", "--role", "admin"] + home).status == 12)
        #expect(try GatehouseProcess.run(["users", "add", "bob", "--role", "root"] + home).status == 64)
        let listed = try GatehouseProcess.run(["users", "list"] + home)
        #expect(listed.stdout.contains("anna.nurse  clinician  TOTP not enrolled"))
        #expect(!listed.stdout.contains("$argon2id"))
        let reset = try GatehouseProcess.run(["users", "reset", "anna.nurse"] + home)
        #expect(reset.stdout.contains("new sign-in password"))
        #expect(try GatehouseProcess.run(["users", "disable", "anna.nurse"] + home).status == 0)
        #expect(try GatehouseProcess.run(["users", "list"] + home).stdout.contains("disabled"))
        #expect(try GatehouseProcess.run(["users", "reset", "nobody"] + home).status == 12)
        // An intake account gets an API token (printed once; only its hash is stored), and reset replaces it.
        let intake = try GatehouseProcess.run(["users", "add", "emis.feed", "--role", "intake"] + home)
        let token = intake.stdout.split(separator: "\n").first?.split(separator: " ").last.map(String.init)
        #expect(intake.status == 0 && intake.stdout.contains("API token"), "\(intake.stdout)")
        #expect(token?.hasPrefix("emis.feed.") == true, "\(intake.stdout)")
        let renewed = try GatehouseProcess.run(["users", "reset", "emis.feed"] + home)
        #expect(renewed.stdout.contains("new API token") && !renewed.stdout.contains(token ?? "-"))
        #expect(try GatehouseProcess.run(["users", "list"] + home).stdout.contains("emis.feed  intake  API token"))
        let store = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: pair.prison + "/web/web.sqlite")), as: UTF8.self)
        #expect(!store.contains(String(token?.suffix(64) ?? "-")))
        var info = stat()
        stat(pair.prison + "/web/web.sqlite", &info)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test func plainHTTPOffLoopbackIsRefused() throws {
        let pair = try DaemonPair()
        let refused = try GatehouseProcess.run(["web", "--listen", "0.0.0.0:8443", "--home", pair.prison])
        #expect(refused.status == 12 && refused.stderr.contains("refusing to listen on 0.0.0.0 over plain HTTP"))
    }

    /// A trusted proxy user header off loopback would let anyone who reaches the port name any
    /// account: `web` refuses to start and `config check` refuses the file, both with status 12.
    @Test func proxyUserHeaderOffLoopbackIsRefused() throws {
        let pair = try DaemonPair()
        let path = pair.prison + "/gatehouse.toml"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        let proxied = original.replacingOccurrences(
            of: "# trusted_proxy_user_header = \"X-Remote-User\"",
            with: "trusted_proxy_user_header = \"X-Remote-User\"")
        try proxied.write(toFile: path, atomically: true, encoding: .utf8)
        let shown = try GatehouseProcess.run(["config", "check", "--home", pair.prison])
        #expect(shown.status == 0 && shown.stdout.contains("web.trusted_proxy_user_header X-Remote-User"),
                "\(shown.stdout)\(shown.stderr)")
        #expect(shown.stdout.contains("web.password_signin        false (default)"), "\(shown.stdout)")
        try proxied.replacingOccurrences(of: "behind_tls_proxy = false", with: "behind_tls_proxy = true")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let refused = try GatehouseProcess.run(["web", "--listen", "0.0.0.0:8443", "--home", pair.prison])
        #expect(refused.status == 12 && refused.stderr.contains("refusing trusted_proxy_user_header"),
                "\(refused.stderr)")
        try proxied.replacingOccurrences(of: "behind_tls_proxy = false", with: "behind_tls_proxy = true")
            .replacingOccurrences(of: "listen = \"127.0.0.1:8443\"", with: "listen = \"0.0.0.0:8443\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let checked = try GatehouseProcess.run(["config", "check", "--home", pair.prison])
        #expect(checked.status == 12 && checked.stderr.contains("only the proxy on this machine"),
                "\(checked.stderr)")
        try original.replacingOccurrences(
            of: "# trusted_proxy_user_header = \"X-Remote-User\"", with: "trusted_proxy_user_header = \"Cookie\"")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let cookie = try GatehouseProcess.run(["config", "check", "--home", pair.prison])
        #expect(cookie.status == 12 && cookie.stderr.contains("key 'web.trusted_proxy_user_header'"),
                "\(cookie.stderr)")
    }

    @Test func runServesTheWebPagesInProcess() throws {
        let pair = try DaemonPair()
        let port = try SSHServer.freePort()
        pair.daemons[pair.prison] = try DaemonProcess(home: pair.prison, arguments: ["--web", "127.0.0.1:\(port)"])
        // Hummingbird keeps HTTP/1.1 connections open: the probe asks it to close, or it waits.
        let request = Array("GET /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        #expect(eventually(timeout: 10) { HTTPProbe.exchange(port: port, request: request)?.status == 200 },
                "\(pair.daemons[pair.prison]!.logText)")
        #expect(HTTPProbe.exchange(port: port, request: request)?.body.contains("<h1>Sign in</h1>") == true)
        #expect(pair.daemons[pair.prison]?.stop() == 0)
    }
}
