import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting

@testable import GatehouseWeb

/// A receiving organisation's home (a prison healthcare team, XHM01) with a pinned partner
/// (A81001), a journal holding received packs, three accounts, and `gatehouse web` serving it on
/// 127.0.0.1 at a free port, with a clock the test moves.
final class WebHarness: @unchecked Sendable {
    let dir: TemporaryDirectory
    let home: GatehouseHome
    let clock = ManualClock(Int64(Date().timeIntervalSince1970 * 1000))
    let accounts: AccountService
    var port = 0
    var passwords: [String: String] = [:]
    private var task: Task<Void, any Error>?
    /// The published pack's id and its file's bytes.
    let publishedID = String(repeating: "ab", count: 16)
    let refusedID = String(repeating: "cd", count: 16)
    let heldID = String(repeating: "ef", count: 16)
    static let hostileSubject = "Reception: Ada Testperson <script>alert(1)</script>\"\u{301} onmouseover='x'"
    let fileBytes = Array("<ClinicalDocument>999 000 0018</ClinicalDocument>\n".utf8)

    init(settings: WebSettings = WebSettings()) async throws {
        dir = try TemporaryDirectory(prefix: "gatehouse-web")
        home = GatehouseHome(path: dir.appending("prison"))
        try FileManager.default.createDirectory(
            atPath: home.path, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        _ = try KeyStore(home: home).initialise(org: try ODSCode("XHM01"), name: "HMP Northgate Healthcare")
        // A partner practice, pinned (its own home only makes the card).
        let practiceHome = GatehouseHome(path: dir.appending("practice"))
        try FileManager.default.createDirectory(
            atPath: practiceHome.path, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let card = try KeyStore(home: practiceHome).initialise(
            org: try ODSCode("A81001"), name: "Riverside <b>Practice</b>")
        _ = try PartnerStore(home: home).add(card)
        try SpoolLayout(home: home).create()
        // One published pack with a file, one refused bundle.
        let folder = dir.appending("prison/spool/received/A81001/\(publishedID)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(fileBytes).write(to: URL(fileURLWithPath: folder + "/summary.xml"))
        let digest = String(repeating: "0", count: 64)
        try Data("%PDF-1.4".utf8).write(to: URL(fileURLWithPath: folder + "/scan.pdf"))
        let files =
            "[{\"name\":\"summary.xml\",\"size\":\"\(fileBytes.count)\",\"sha256\":\"\(digest)\"},"
            + "{\"name\":\"scan.pdf\",\"size\":8,\"sha256\":\"\(digest)\"}]"
        let journal = try SQLiteJournal(path: SpoolLayout(home: home).journal)
        try journal.insert(
            IncomingRecord(
                bundleID: try BundleID(hex: publishedID), sender: try ODSCode("A81001"), state: .published,
                receivedAt: clock.now - 60_000, bundleSHA256: String(repeating: "1", count: 64),
                publishedPath: folder, files: files, receipt: [1, 2, 3]),
            detail: nil, context: PackContext(
                subject: Self.hostileSubject, workflow: try Workflow("reception-summary"),
                nhsNumbers: ["9990000018"]))
        try journal.insert(
            IncomingRecord(
                bundleID: try BundleID(hex: refusedID), sender: try ODSCode("B82002"), state: .rejected, receivedAt: clock.now - 30_000,
                bundleSHA256: String(repeating: "2", count: 64), reason: "unknown-sender",
                receipt: [4]))
        try journal.insert(
            IncomingRecord(
                bundleID: try BundleID(hex: heldID), sender: try ODSCode("C83003"), state: .held, receivedAt: clock.now - 20_000,
                bundleSHA256: String(repeating: "3", count: 64),
                reason: "unknown-sender: C83003 is not a partner here (no identity card added)", receipt: [5]))
        accounts = AccountService(store: try UserStore(home: home), clock: clock.clock, cost: testCost)
        for (name, role) in [("anna.nurse", Role.clinician), ("rita.reception", .sender), ("mo.manager", .admin)] {
            passwords[name] = try accounts.add(name, role: role)
        }
        var settings = settings
        settings.listen = "127.0.0.1:0"
        let server = WebServer(home: home, settings: settings, accounts: accounts)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        task = ServerThread(label: "web-server").start { try await server.run { port in continuation.yield(port) } }
        for await bound in ports {
            port = bound
            break
        }
    }

    deinit { task?.cancel() }

    func stop() async {
        task?.cancel()
        _ = await task?.result
    }

    /// A client that signed in as `name`, enrolling TOTP on first use (the code from the page's key).
    func signIn(_ name: String) async throws -> WebClient {
        var client = WebClient(port: port)
        let form = try await client.get("/signin")
        let answer = try await client.post(
            "/signin",
            [
                ("csrf", form.csrf ?? ""), ("username", name),
                ("password", passwords[name] ?? ""),
            ])
        guard answer.status == 303, let next = answer.header("location") else {
            throw WebClient.Failure(description: "password step: \(answer.status)")
        }
        let page = try await client.get(next)
        let secret: [UInt8]
        if let key = page.capture("<code class=\"secret\">", until: "</code>") {
            secret = Base32.decode(key) ?? []
            secrets[name] = secret
        } else {
            secret = secrets[name] ?? []
        }
        clock.advance(seconds: 30)  // a fresh step: each code is accepted once
        let totp = TOTP(secret: secret)
        let done = try await client.post(
            next, [("csrf", page.csrf ?? ""), ("code", totp.code(counter: totp.counter(at: clock.now / 1000)))])
        guard done.status == 303, done.header("location") == "/" else {
            throw WebClient.Failure(description: "code step: \(done.status) \(done.text)")
        }
        return client
    }

    var secrets: [String: [UInt8]] = [:]

    /// The audit log's entries.
    func auditEntries() throws -> [AuditEntry] { try AuditLog(home: home).entries() }
}
