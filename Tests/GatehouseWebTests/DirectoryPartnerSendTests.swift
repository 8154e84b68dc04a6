import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

@testable import GatehouseWeb

/// Partners from the joined directory (issue 16) in the *Send* page and the intake API, through
/// the rule `gatehouse send` uses (``PartnerStore/requireRecipient(_:own:now:)``): listed ones are
/// offered and accepted, revoked and unknown ones refused with a clear error, nothing queued.
@Suite(.serialized) struct DirectoryPartnerSendTests {
    typealias Form = SendPageTests

    /// The harness's prison joins a network that lists B82002, lists and then revokes C83003,
    /// and lists the prison itself.
    func joinDirectory(_ web: WebHarness) throws {
        let authority = NetworkAuthority(home: GatehouseHome(path: web.dir.appending("authority")))
        let network = try NetworkAuthority.initialise(home: authority.home, name: "directory.nhs.example/web")
        let now = KeyStore.now()
        var cards: [String: IdentityCard] = [:]
        for (org, name) in [("B82002", "Hillside Surgery"), ("C83003", "Closed Practice")] {
            let home = GatehouseHome(path: web.dir.appending(org))
            cards[org] = try KeyStore(home: home).initialise(org: try ODSCode(org), name: name)
        }
        for card in [cards["B82002"]!, cards["C83003"]!, try KeyStore(home: web.home).loadOwnCard()] {
            try authority.stage(try DirectoryEntry.admit(card, validFrom: now - 60, validUntil: now + 86_400))
        }
        let revoked = cards["C83003"]!
        try authority.stage(try DirectoryEntry.revoke(org: revoked.org, rootKey: revoked.rootKey, at: now - 1,
                                                      reason: "practice closed"))
        let served = web.dir.appending("served")
        _ = try authority.publish(key: try authority.loadRootKey(), mirrors: [served])
        let client = DirectoryClient(home: web.home)
        try client.join(network)
        _ = try client.sync(from: TileFolder(path: served))
    }

    func outbox(_ web: WebHarness, _ org: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: SpoolLayout(home: web.home).outbox + "/" + org)) ?? []
    }

    func intake(_ web: WebHarness, token: String, to org: String, key: String) async throws -> WebClient.Answer {
        var client = WebClient(port: web.port)
        return try await client.send(
            "POST", "/api/v1/packs",
            headers: [("Content-Type", IntakeAPITests.type), ("Authorization", "Bearer \(token)"),
                      ("Idempotency-Key", key)],
            body: Form.multipart([("to", org), ("nhs_number", "999 000 0018")],
                                 files: [("summary.xml", Array("<doc/>".utf8))]))
    }

    func json(_ answer: WebClient.Answer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(answer.body))) as? [String: Any] ?? [:]
    }

    @Test func aDirectoryPartnerIsOfferedAndAcceptedAndARevokedOrUnknownOneRefused() async throws {
        let web = try await WebHarness()
        try joinDirectory(web)
        var sender = try await web.signIn("rita.reception")
        let form = try await sender.get("/send")
        #expect(form.text.contains("value=\"A81001\""))
        #expect(form.text.contains("value=\"B82002\">Hillside Surgery, from the directory"), "\(form.text)")
        #expect(!form.text.contains("value=\"C83003\"") && !form.text.contains("value=\"XHM01\""))

        // The Send page queues a pack for the directory partner.
        let sent = try await sender.send(
            "POST", "/send", headers: [("Content-Type", "multipart/form-data; boundary=\(Form.boundary)")],
            body: Form.multipart([("csrf", form.csrf ?? ""), ("to", "B82002")], files: [("a.txt", [1])]))
        #expect(sent.status == 200 && sent.text.contains("Queued for B82002"), "\(sent.text)")
        #expect(outbox(web, "B82002").count == 1)

        // The intake API too; a revoked listing and an organisation nobody knows are refused.
        let token = try web.accounts.add("emis.feed", role: .intake)
        let queued = try await intake(web, token: token, to: "B82002", key: "k-1")
        #expect(queued.status == 201, "\(queued.text)")
        #expect(json(queued)["to"] as? String == "B82002" && outbox(web, "B82002").count == 2)
        for org in ["C83003", "ZZZ99"] {
            let refused = try await intake(web, token: token, to: org, key: "k-\(org)")
            #expect(refused.status == 400 && json(refused)["field"] as? String == "to", "\(org): \(refused.text)")
            #expect((json(refused)["error"] as? String)?.hasPrefix(
                "\(org) is not a partner: no card is pinned for it and the directory does not list it") == true,
                "\(refused.text)")
            #expect(outbox(web, org).isEmpty)
        }
        let itself = try await intake(web, token: token, to: "XHM01", key: "k-self")
        #expect(itself.status == 400 && json(itself)["error"] as? String == "XHM01 is this organisation itself; choose a partner.")
        await web.stop()
    }
}
