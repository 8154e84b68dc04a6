import Foundation
import GatehouseDaemon
import GatehouseKit
import GatehouseTesting
import Testing

@testable import GatehouseWeb

/// The intake API: `POST /api/v1/packs` with a bearer token drops one pack through ``PackDrop``,
/// idempotent by key; tokens and browser sessions never stand in for each other.
@Suite(.serialized) struct IntakeAPITests {
    typealias Form = SendPageTests
    static let type = "multipart/form-data; boundary=\(Form.boundary)"
    static let fields = [
        ("to", "A81001"), ("subject", "Discharge summary"), ("nhs_number", "999 000 0018"),
        ("nhs_number", "9990000026"), ("workflow", ""),
    ]

    func post(
        _ web: WebHarness, token: String?, key: String? = "k-1", _ fields: [(String, String)] = Self.fields,
        files: [(String, [UInt8])] = [("summary.xml", Array("<doc/>".utf8))], cookie: String? = nil
    ) async throws -> WebClient.Answer {
        var client = WebClient(port: web.port)
        client.cookie = cookie
        var headers = [("Content-Type", Self.type)]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let key { headers.append(("Idempotency-Key", key)) }
        return try await client.send(
            "POST", "/api/v1/packs", headers: headers, body: Form.multipart(fields, files: files))
    }

    func get(_ web: WebHarness, _ path: String, token: String) async throws -> WebClient.Answer {
        var client = WebClient(port: web.port)
        return try await client.send("GET", path, headers: [("Authorization", "Bearer \(token)")])
    }

    func outbox(_ web: WebHarness) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: SpoolLayout(home: web.home).outbox + "/A81001")) ?? []
    }

    func json(_ answer: WebClient.Answer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any] ?? [:]
    }

    /// A request that died between reserving its key and committing its pack leaves an
    /// uncommitted reservation: the client's retry queues the pack (never a 201 for a pack that
    /// was not queued); one that died after committing is answered with that pack, never a second.
    @Test func aRetryAfterARequestDiedQueuesThePackOnce() async throws {
        let web = try await WebHarness()
        let token = try web.accounts.add("emis.feed", role: .intake)
        let first = try await post(web, token: token, key: "k-9")
        let pack = try #require(json(first)["pack"] as? String)
        var entry = try #require(try web.accounts.store.intakePack(client: "emis.feed", pack: pack))
        #expect(entry.committed)
        // Died after committing, before marking: the pack is there; the retry answers with it.
        entry.committed = false
        try web.accounts.store.release(client: "emis.feed", key: "k-9")
        #expect(try web.accounts.store.reserve(entry) == .reserved)
        let replay = try await post(web, token: token, key: "k-9")
        #expect(replay.status == 201 && json(replay)["pack"] as? String == pack, "\(replay.text)")
        #expect(outbox(web) == [pack])
        #expect(try web.accounts.store.intakePack(client: "emis.feed", pack: pack)?.committed == true)
        // Died before committing: nothing reached the outbox; the retry queues the pack.
        try FileManager.default.removeItem(atPath: SpoolLayout(home: web.home).outbox + "/A81001/\(pack)")
        try web.accounts.store.release(client: "emis.feed", key: "k-9")
        #expect(try web.accounts.store.reserve(entry) == .reserved)
        let retried = try await post(web, token: token, key: "k-9")
        #expect(retried.status == 201, "\(retried.text)")
        let queued = try #require(json(retried)["pack"] as? String)
        #expect(outbox(web) == [queued] && queued != pack && retried.header("idempotent-replayed") == nil)
        #expect(try web.accounts.store.intakePack(client: "emis.feed", pack: queued)?.committed == true)
        // From then on it is a plain replay.
        let again = try await post(web, token: token, key: "k-9")
        #expect(json(again)["pack"] as? String == queued && outbox(web) == [queued])
        await web.stop()
    }

    @Test func queuesOnePackAndReplaysByKey() async throws {
        let web = try await WebHarness()
        let token = try web.accounts.add("emis.feed", role: .intake)
        #expect(token.hasPrefix("emis.feed.") && token.utf8.count == "emis.feed.".utf8.count + 64)
        // Only the secret's hash is stored.
        let stored = try #require(try web.accounts.store.token("emis.feed"))
        #expect(stored.secretHash.count == 32 && !token.contains(stored.secretHash.hexString))
        let first = try await post(web, token: token)
        #expect(first.status == 201, "\(first.text)")
        #expect(first.header("content-type") == "application/json")
        let pack = try #require(json(first)["pack"] as? String)
        #expect(outbox(web) == [pack])
        let folder = SpoolLayout(home: web.home).outbox + "/A81001/\(pack)"
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: folder)) == ["summary.xml", ".gatehouse.toml"])
        let sidecar = try String(contentsOfFile: folder + "/.gatehouse.toml", encoding: .utf8)
        #expect(sidecar.contains("9990000018") && sidecar.contains("9990000026"), "\(sidecar)")
        // The same key and content again (a client retrying after a lost answer): the same answer, no second pack.
        let again = try await post(web, token: token)
        #expect(again.status == 201 && json(again)["pack"] as? String == pack)
        #expect(again.header("idempotent-replayed") == "true")
        #expect(outbox(web) == [pack])
        // A retry through another client library draws another multipart boundary: still a replay.
        let redrawn = String(decoding: Form.multipart(Self.fields, files: [("summary.xml", Array("<doc/>".utf8))]),
            as: UTF8.self).replacingOccurrences(of: Form.boundary, with: "other-boundary-42")
        var retry = WebClient(port: web.port)
        let third = try await retry.send(
            "POST", "/api/v1/packs",
            headers: [("Content-Type", "multipart/form-data; boundary=other-boundary-42"),
                ("Authorization", "Bearer \(token)"), ("Idempotency-Key", "k-1")],
            body: Array(redrawn.utf8))
        #expect(third.status == 201 && json(third)["pack"] as? String == pack, "\(third.text)")
        #expect(outbox(web) == [pack])
        // The same key with another file: 409, nothing queued.
        let other = try await post(web, token: token, files: [("summary.xml", Array("<other/>".utf8))])
        #expect(other.status == 409 && json(other)["field"] as? String == "Idempotency-Key")
        #expect(outbox(web) == [pack])
        // A new key is a new pack.
        #expect(try await post(web, token: token, key: "k-2").status == 201)
        #expect(outbox(web).count == 2)
        // The pack's state, for this client only.
        let state = try await get(web, "/api/v1/packs/\(pack)", token: token)
        #expect(state.status == 200 && json(state)["state"] as? String == "waiting")
        #expect(json(state)["to"] as? String == "A81001")
        let other2 = try web.accounts.add("tpp.feed", role: .intake)
        #expect(try await get(web, "/api/v1/packs/\(pack)", token: other2).status == 404)
        // Another client's key space is its own: the same key queues its own pack.
        #expect(try await post(web, token: other2).status == 201)
        #expect(outbox(web).count == 3)
        let audited = try web.auditEntries()
        #expect(audited.contains { $0.event == "api-send" && $0.detail?.contains("user=emis.feed") == true })
        await web.stop()
    }

    @Test func tokensAndSessionsNeverStandInForEachOther() async throws {
        let web = try await WebHarness()
        let token = try web.accounts.add("emis.feed", role: .intake)
        // No token, a wrong one, an unknown account, a staff account's password: 401, audited.
        #expect(try await post(web, token: nil).status == 401)
        #expect(try await post(web, token: "emis.feed." + String(repeating: "0", count: 64)).status == 401)
        #expect(try await post(web, token: "nobody." + String(repeating: "0", count: 64)).status == 401)
        #expect(try await post(web, token: "rita.reception.\(web.passwords["rita.reception"]!)").status == 401)
        // A signed-in browser session (a sender) does not authenticate the API.
        let sender = try await web.signIn("rita.reception")
        #expect(try await post(web, token: nil, cookie: sender.cookie).status == 401)
        // A token does not open the pages.
        for path in ["/send", "/inbox", "/outgoing", "/"] {
            var client = WebClient(port: web.port)
            let page = try await client.send("GET", path, headers: [("Authorization", "Bearer \(token)")])
            #expect(page.status == 303 && page.header("location") == "/signin", "\(path)")
        }
        #expect(outbox(web).isEmpty)
        #expect(try web.auditEntries().filter { $0.event == "api-auth-failed" }.count >= 5)
        // A disabled account's valid token is refused.
        try web.accounts.disable("emis.feed")
        #expect(try await post(web, token: token).status == 401)
        #expect(outbox(web).isEmpty)
        // `users reset` gives a new token; the old one is dead.
        let fresh = try web.accounts.reset("emis.feed")
        #expect(try await post(web, token: token, key: "k-9").status == 401)
        // Five refusals from this one address: it waits a minute, whatever it sends.
        #expect(try await post(web, token: fresh, key: "k-9").status == 429)
        web.clock.advance(seconds: 61)
        #expect(try await post(web, token: fresh, key: "k-9").status == 201)
        await web.stop()
    }

    /// Wrong tokens slow the address that sends them, never the account: an insider who knows
    /// the account's name cannot shut the clinical system out from elsewhere.
    @Test func wrongTokensSlowTheirAddressNotTheAccount() async throws {
        var settings = WebSettings()
        settings.behindTLSProxy = true
        let web = try await WebHarness(settings: settings)
        let token = try web.accounts.add("emis.feed", role: .intake)
        func post(from address: String, _ token: String, key: String) async throws -> WebClient.Answer {
            var client = WebClient(port: web.port)
            return try await client.send(
                "POST", "/api/v1/packs",
                headers: [("Content-Type", Self.type), ("Authorization", "Bearer \(token)"), ("Idempotency-Key", key),
                          ("X-Forwarded-For", address)],
                body: Form.multipart(Self.fields, files: [("summary.xml", Array("<doc/>".utf8))]))
        }
        let wrong = "emis.feed." + String(repeating: "1", count: 64)
        for n in 0..<AccountService.lockAfter {
            #expect(try await post(from: "192.0.2.66", wrong, key: "w-\(n)").status == 401)
        }
        // That address waits, even with the right token...
        let slowed = try await post(from: "192.0.2.66", token, key: "k-1")
        #expect(slowed.status == 429 && slowed.header("retry-after") == "60")
        // ...the clinical system's own address does not.
        #expect(try await post(from: "192.0.2.10", token, key: "k-1").status == 201)
        web.clock.advance(seconds: 61)
        #expect(try await post(from: "192.0.2.66", token, key: "k-2").status == 201)
        await web.stop()
    }

    @Test func refusesWhatTheOutboxRefuses() async throws {
        var settings = WebSettings()
        settings.uploadMaxBytes = 1 << 20
        let web = try await WebHarness(settings: settings)
        let token = try web.accounts.add("emis.feed", role: .intake)
        func with(_ name: String, _ value: String) -> [(String, String)] {
            Self.fields.filter { $0.0 != name } + [(name, value)]
        }
        let cases: [([(String, String)], [(String, [UInt8])], String)] = [
            (with("nhs_number", "999 000 0017"), [("a.txt", [1])], "nhs_number"),
            (with("to", "XHM01"), [("a.txt", [1])], "to"),  // this organisation itself
            (with("to", "B82002"), [("a.txt", [1])], "to"),  // not a partner
            (with("to", "not an ods"), [("a.txt", [1])], "to"),
            (with("workflow", "no-such-flow"), [("a.txt", [1])], "workflow"),
            (Self.fields, [], "files"),
        ]
        for (index, (fields, files, field)) in cases.enumerated() {
            let answer = try await post(web, token: token, key: "bad-\(index)", fields, files: files)
            #expect(answer.status == 400 && json(answer)["field"] as? String == field, "\(field): \(answer.text)")
        }
        // A field after the files would be left out of the pack's context: refused.
        var late = Form.fieldParts(Self.fields) + Form.fileHead("a.txt") + [1] + Array("\r\n".utf8)
        late += Form.fieldParts([("nhs_number", "9990000034")]) + Array("--\(Form.boundary)--\r\n".utf8)
        var raw = WebClient(port: web.port)
        let lateAnswer = try await raw.send(
            "POST", "/api/v1/packs",
            headers: [("Content-Type", Self.type), ("Authorization", "Bearer \(token)"), ("Idempotency-Key", "late")],
            body: late)
        #expect(lateAnswer.status == 400 && json(lateAnswer)["field"] as? String == "nhs_number", "\(lateAnswer.text)")
        for (index, name) in ["../evil.txt", "a/b.txt", ".hidden", "x.part", "..", "con\u{0}x"].enumerated() {
            let answer = try await post(web, token: token, key: "n-\(index)", files: [(name, [1])])
            #expect(answer.status == 400, "\(name): \(answer.text)")
        }
        // The key: required, bounded, printable ASCII.
        for key in [nil, "", String(repeating: "k", count: 129), "caf\u{e9}", "a b"] as [String?] {
            let answer = try await post(web, token: token, key: key)
            #expect(answer.status == 400 && json(answer)["field"] as? String == "Idempotency-Key")
        }
        // Over the limit by its declared length: 413 before the body is read.
        var client = WebClient(port: web.port)
        client.cookie = nil
        let big = try await client.send(
            "POST", "/api/v1/packs",
            headers: [("Content-Type", Self.type), ("Authorization", "Bearer \(token)"), ("Idempotency-Key", "big")],
            body: Form.multipart(Self.fields, files: [("big.bin", [UInt8](repeating: 7, count: (2 << 20) + 10))]))
        #expect(big.status == 413)
        // Over the limit within the length's slack: refused while streaming.
        let streamed = try await post(
            web, token: token, key: "big-2", files: [("big.bin", [UInt8](repeating: 7, count: (1 << 20) + 10))])
        #expect(streamed.status == 413)
        #expect(outbox(web).isEmpty)
        let outboxFolder = SpoolLayout(home: web.home).outbox + "/A81001"
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: outboxFolder)
        #expect(leftovers.isEmpty)
        await web.stop()
    }
}
