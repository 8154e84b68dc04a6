import Foundation
import GatehouseDaemon
import GatehouseKit
import GatehouseTesting
import Testing

@testable import GatehouseWeb

/// The real server on 127.0.0.1, driven byte by byte: sign-in, headers, roles, and the attacks an
/// outsider or another member of staff would try.
@Suite(.serialized) struct WebServerTests {
    @Test func signInWithTOTPThenInboxWithHeadersAndEscaping() async throws {
        let web = try await WebHarness()
        var nurse = try await web.signIn("anna.nurse")
        let inbox = try await nurse.get("/inbox")
        #expect(inbox.status == 200)
        #expect(inbox.header("content-security-policy")?.contains("default-src 'none'") == true)
        #expect(inbox.header("content-security-policy")?.contains("frame-ancestors 'none'") == true)
        #expect(inbox.header("x-frame-options") == "DENY")
        #expect(inbox.header("x-content-type-options") == "nosniff")
        #expect(inbox.header("referrer-policy") == "no-referrer")
        #expect(inbox.header("cache-control") == "no-store")
        // The subject and the partner's name are shown, escaped: no markup from a sender runs.
        #expect(inbox.text.contains("Ada Testperson &lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(inbox.text.contains("onmouseover&#61;&#39;x&#39;"))
        #expect(!inbox.text.contains("<script>"))
        #expect(inbox.text.contains("Riverside &lt;b&gt;Practice&lt;/b&gt;"))
        #expect(inbox.text.contains("999 000 0018"))
        #expect(inbox.text.contains("unknown-sender"))
        // No script of any kind on the page.
        #expect(!inbox.text.contains("<script"))
        let events = try web.auditEntries().map(\.event)
        #expect(events.contains("web-totp-enrolled") && events.contains("web-view"))
        let view = try #require(try web.auditEntries().last { $0.event == "web-view" })
        #expect(view.detail?.contains("user=anna.nurse from=127.0.0.1") == true)
        #expect(view.detail?.contains("9990000018") == false)
        await web.stop()
    }

    @Test func cookieFlagsAndSignedOutRedirects() async throws {
        let web = try await WebHarness()
        var client = WebClient(port: web.port)
        let form = try await client.get("/signin")
        let cookie = try #require(form.header("set-cookie"))
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
        #expect(!cookie.contains("Secure"))  // plain HTTP on loopback; Secure behind a TLS proxy
        var stranger = WebClient(port: web.port)
        for path in [
            "/", "/inbox", "/pack/\(web.publishedID)", "/pack/\(web.publishedID)/file/0", "/send", "/outgoing",
        ] {
            let answer = try await stranger.get(path)
            #expect(answer.status == 303 && answer.header("location") == "/signin", "\(path)")
        }
        await web.stop()
    }

    @Test func tlsProxySettingMarksCookiesSecureAndNamesTheClient() async throws {
        var settings = WebSettings()
        settings.behindTLSProxy = true
        let web = try await WebHarness(settings: settings)
        var client = WebClient(port: web.port)
        let cookie = try #require(try await client.get("/signin").header("set-cookie"))
        #expect(cookie.hasPrefix("__Host-gatehouse=") && cookie.contains("Secure"))
        #expect(try await client.get("/signin").header("strict-transport-security") != nil)
        // The proxy's X-Forwarded-For names the browser in the audit log; a forged value that is
        // no address is not believed.
        for (header, expected) in [
            ("203.0.113.7", "from=203.0.113.7 via=127.0.0.1"),
            ("x user=mo.manager", "from=127.0.0.1 "),
        ] {
            let form = try await client.get("/signin")
            _ = try await client.post(
                "/signin", [("csrf", form.csrf ?? ""), ("username", "anna.nurse"), ("password", "wrong")],
                headers: [("X-Forwarded-For", header)])
            let last = try #require(try web.auditEntries().last)
            #expect(last.detail?.contains(expected) == true, "\(last.detail ?? "")")
        }
        await web.stop()
    }

    @Test func formsWithoutTheRightTokenAreRefused() async throws {
        let web = try await WebHarness()
        var nurse = try await web.signIn("anna.nurse")
        var other = try await web.signIn("mo.manager")
        let otherToken = try #require(try await other.get("/inbox").csrf)
        let ownToken = try #require(try await nurse.get("/inbox").csrf)
        let handled = "/pack/\(web.publishedID)/handled"
        #expect(try await nurse.post(handled, [("note", "x")]).status == 403)
        #expect(try await nurse.post(handled, [("csrf", "wrong"), ("note", "x")]).status == 403)
        #expect(try await nurse.post(handled, [("csrf", otherToken), ("note", "x")]).status == 403)
        #expect(
            try await nurse.post(handled, [("csrf", ownToken)], headers: [("Sec-Fetch-Site", "cross-site")]).status
                == 403)
        #expect(try await nurse.post("/inbox", [("nhs", "9990000018")]).status == 403)
        #expect(try web.accounts.store.handled([web.publishedID]).isEmpty)
        // With its own token, the mark is made, and shown with who.
        #expect(try await nurse.post(handled, [("csrf", ownToken), ("note", "Seen at reception")]).status == 303)
        let pack = try await nurse.get("/pack/\(web.publishedID)")
        #expect(pack.text.contains("Marked handled by anna.nurse") && pack.text.contains("Seen at reception"))
        #expect(try web.auditEntries().contains { $0.event == "web-handled" && $0.bundle == web.publishedID })
        // Sign-in itself needs the token of its own form.
        var fresh = WebClient(port: web.port)
        _ = try await fresh.get("/signin")
        let noToken = try await fresh.post(
            "/signin", [("username", "anna.nurse"), ("password", web.passwords["anna.nurse"]!)])
        #expect(noToken.status == 403)
        await web.stop()
    }

    /// An attacker plants a session id in the victim's browser before sign-in: after the victim
    /// signs in, that id is worth nothing.
    @Test func sessionFixationAndAnotherUsersSessionId() async throws {
        let web = try await WebHarness()
        var attacker = WebClient(port: web.port)
        _ = try await attacker.get("/signin")
        let planted = try #require(attacker.cookie)
        var victim = WebClient(port: web.port)
        victim.cookie = planted
        let form = try await victim.get("/signin")  // the planted id is unknown to a fresh sign-in? it gets a new one
        let step = try await victim.post(
            "/signin",
            [
                ("csrf", form.csrf ?? ""), ("username", "anna.nurse"),
                ("password", web.passwords["anna.nurse"]!),
            ])
        #expect(step.status == 303)
        #expect(victim.cookie != planted)
        #expect(try await attacker.get("/inbox").status == 303)
        var signedIn = try await web.signIn("anna.nurse")
        #expect(try await signedIn.get("/inbox").status == 200)
        // A made-up or guessed id is no session.
        var guesser = WebClient(port: web.port)
        guesser.cookie = "gatehouse=" + String(repeating: "A", count: 43)
        #expect(try await guesser.get("/inbox").status == 303)
        // Signing out kills the id for good.
        let token = try #require(try await signedIn.get("/inbox").csrf)
        let stolen = signedIn.cookie
        #expect(try await signedIn.post("/signout", [("csrf", token)]).status == 303)
        var thief = WebClient(port: web.port)
        thief.cookie = stolen
        #expect(try await thief.get("/inbox").status == 303)
        await web.stop()
    }

    @Test func idleSessionsExpire() async throws {
        let web = try await WebHarness()
        var nurse = try await web.signIn("anna.nurse")
        web.clock.advance(seconds: 14 * 60)
        #expect(try await nurse.get("/inbox").status == 200)
        web.clock.advance(seconds: 16 * 60)
        #expect(try await nurse.get("/inbox").status == 303)
        await web.stop()
    }

    @Test func rolesKeepStaffToTheirPages() async throws {
        let web = try await WebHarness()
        var nurse = try await web.signIn("anna.nurse")
        #expect(try await nurse.get("/send").status == 403)
        #expect(try await nurse.get("/outgoing").status == 403)
        var sender = try await web.signIn("rita.reception")
        #expect(try await sender.get("/inbox").status == 403)
        #expect(try await sender.get("/pack/\(web.publishedID)").status == 403)
        #expect(try await sender.get("/pack/\(web.publishedID)/file/0").status == 403)
        #expect(try await sender.get("/outgoing").status == 200)
        #expect(try web.auditEntries().contains { $0.event == "web-forbidden" })
        // Disabling an account ends its open session at the next request.
        try web.accounts.disable("anna.nurse")
        #expect(try await nurse.get("/inbox").status == 303)
        await web.stop()
    }

    @Test func downloadsByPositionOnlyWithSafeHeaders() async throws {
        let web = try await WebHarness()
        var nurse = try await web.signIn("anna.nurse")
        let file = try await nurse.get("/pack/\(web.publishedID)/file/0")
        #expect(file.status == 200)
        #expect(file.body == web.fileBytes)
        #expect(
            file.header("content-disposition") == "attachment; filename=\"summary.xml\"; filename*=UTF-8''summary.xml")
        #expect(file.header("content-type") == "application/octet-stream")
        #expect(file.header("x-content-type-options") == "nosniff")
        #expect(try web.auditEntries().contains { $0.event == "web-download" && $0.bundle == web.publishedID })
        for path in [
            "/pack/\(web.publishedID)/file/2", "/pack/\(web.publishedID)/file/-1",
            "/pack/\(web.publishedID)/file/..%2F..%2Fkeys", "/pack/\(web.publishedID)/file/../../../etc/passwd",
            "/pack/..%2F..%2Fkeys/file/0", "/pack/\(web.publishedID.uppercased())/file/0",
            "/pack/\(web.refusedID)/file/0", "/pack/\(web.publishedID)/file/99999999999",
        ] {
            let answer = try await nurse.get(path)
            #expect(answer.status == 404, "\(path)")
            #expect(answer.body != web.fileBytes)
        }
        await web.stop()
    }

    @Test func searchByNHSNumberTextSenderAndDates() async throws {
        let web = try await WebHarness()
        var nurse = try await web.signIn("anna.nurse")
        let token = try #require(try await nurse.get("/inbox").csrf)
        func search(_ fields: [(String, String)]) async throws -> WebClient.Answer {
            try await nurse.post("/inbox", [("csrf", token)] + fields)
        }
        #expect(try await search([("nhs", "999 000 0018")]).text.contains("/pack/\(web.publishedID)"))
        let bad = try await search([("nhs", "999 000 0019")])
        #expect(bad.status == 400 && bad.text.contains("check digit"))
        #expect(try await search([("nhs", "999 000 0026")]).text.contains("Nothing received matches."))
        #expect(try await search([("text", "testperson")]).text.contains("/pack/\(web.publishedID)"))
        #expect(try await search([("text", "%")]).text.contains("Nothing received matches."))
        #expect(try await search([("sender", "b82002")]).text.contains("/pack/\(web.refusedID)"))
        // A held bundle says so, and why, in the list and on its page; it has nothing to mark handled.
        let held = try await search([("sender", "c83003")]).text
        #expect(held.contains("/pack/\(web.heldID)") && held.contains("(held unopened)")
            && held.contains("held: unknown-sender: C83003 is not a partner here"))
        let page = try await nurse.get("/pack/\(web.heldID)").text
        #expect(page.contains("This bundle is held unopened") && !page.contains("Mark as handled"))
        #expect(!(try await search([("sender", "b82002")]).text.contains("/pack/\(web.publishedID)")))
        #expect(try await search([("workflow", "reception-summary")]).text.contains("/pack/\(web.publishedID)"))
        #expect(
            try await search([("from", "2000-01-01"), ("to", "2000-01-02")]).text.contains("Nothing received matches."))
        #expect(try await search([("from", "yesterday")]).status == 400)
        await web.stop()
    }

    @Test func lockedAccountStaysLockedOverHTTP() async throws {
        let web = try await WebHarness()
        var client = WebClient(port: web.port)
        for _ in 0..<AccountService.lockAfter {
            let form = try await client.get("/signin")
            #expect(
                try await client.post(
                    "/signin",
                    [
                        ("csrf", form.csrf ?? ""), ("username", "anna.nurse"),
                        ("password", "guess"),
                    ]
                ).status == 401)
        }
        let form = try await client.get("/signin")
        let right = try await client.post(
            "/signin",
            [
                ("csrf", form.csrf ?? ""), ("username", "anna.nurse"),
                ("password", web.passwords["anna.nurse"]!),
            ])
        #expect(right.status == 401)
        #expect(try web.auditEntries().contains { $0.event == "web-signin-locked" })
        // A typed name cannot pose as another account or address in the audit log.
        let spoof = try await client.get("/signin")
        _ = try await client.post(
            "/signin", [("csrf", spoof.csrf ?? ""), ("username", "mo.manager from=10.9.9.9"), ("password", "x")])
        let posed = try web.auditEntries().contains {
            $0.user == "mo.manager" || $0.detail?.contains("10.9.9.9") == true
        }
        #expect(!posed)
        // Every attempt is audited: the failures, then the lock (the 5th failure locks it).
        let attempts = try web.auditEntries().filter {
            $0.event == "web-signin-failed" || $0.event == "web-signin-locked"
        }
        #expect(attempts.count == AccountService.lockAfter + 2)
        await web.stop()
    }
}
