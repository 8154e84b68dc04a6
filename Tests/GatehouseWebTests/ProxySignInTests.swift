import Foundation
import GatehouseKit
import Testing

@testable import GatehouseWeb

/// `[web] trusted_proxy_user_header`: sign-in by a single-sign-on proxy in front (NHS
/// Smartcard/CIS2), against the real server on 127.0.0.1, and what an attacker who can send that
/// header, or reach the server around the proxy, would try.
@Suite(.serialized) struct ProxySignInTests {
    static func proxied(passwordSignIn: Bool? = nil) -> WebSettings {
        var settings = WebSettings()
        settings.trustedProxyUserHeader = "X-Remote-User"
        settings.passwordSignInSetting = passwordSignIn
        return settings
    }

    /// What the proxy sends for `user` (nil: a request that went around it).
    static func get(_ client: inout WebClient, _ path: String, as user: String?) async throws -> WebClient.Answer {
        try await client.send("GET", path, headers: user.map { [("X-Remote-User", $0)] } ?? [])
    }

    @Test func headerIsIgnoredWhenTheSettingIsOff() async throws {
        let web = try await WebHarness()
        var attacker = WebClient(port: web.port)
        for path in ["/", "/inbox", "/health"] {
            let answer = try await Self.get(&attacker, path, as: "mo.manager")
            #expect(answer.status == 303 && answer.header("location") == "/signin", "\(path)")
        }
        // The sign-in page is the password form, and no sign-in happened.
        #expect(try await Self.get(&attacker, "/signin", as: "mo.manager").text.contains("name=\"password\""))
        #expect(try web.auditEntries().allSatisfy { $0.event != "web-signin" })
        await web.stop()
    }

    @Test func proxySignsInTheNamedAccountWithItsOwnRole() async throws {
        let web = try await WebHarness(settings: Self.proxied())
        var nurse = WebClient(port: web.port)
        // No password, no TOTP: the proxy did both. The page asked for is where it lands.
        let first = try await Self.get(&nurse, "/inbox", as: "anna.nurse")
        #expect(first.status == 303 && first.header("location") == "/inbox")
        #expect(first.header("set-cookie")?.contains("HttpOnly; SameSite=Strict") == true)
        let inbox = try await Self.get(&nurse, "/inbox", as: "anna.nurse")
        #expect(inbox.status == 200 && inbox.text.contains("999 000 0018"))
        // The role is Gatehouse's own: a clinician still cannot send or see health.
        #expect(try await Self.get(&nurse, "/send", as: "anna.nurse").status == 403)
        #expect(try await Self.get(&nurse, "/health", as: "anna.nurse").status == 403)
        var manager = WebClient(port: web.port)
        _ = try await Self.get(&manager, "/health", as: "mo.manager")
        #expect(try await Self.get(&manager, "/health", as: "mo.manager").status == 200)
        // Forms still need the session's CSRF token.
        let token = try #require(inbox.csrf)
        let handled = "/pack/\(web.publishedID)/handled"
        let proxy = [("X-Remote-User", "anna.nurse")]
        #expect(try await nurse.post(handled, [("note", "x")], headers: proxy).status == 403)
        #expect(
            try await nurse.post(handled, [("csrf", token)], headers: proxy).status == 303)
        let signIn = try #require(try web.auditEntries().first { $0.event == "web-signin" })
        #expect(signIn.detail == "user=anna.nurse from=127.0.0.1 factors=sso-proxy")
        #expect(try web.accounts.store.account("anna.nurse")?.totpSecret == nil)
        await web.stop()
    }

    @Test func unknownDisabledAndMalformedNamesAreRefusedAndAudited() async throws {
        let web = try await WebHarness(settings: Self.proxied())
        try web.accounts.disable("rita.reception")
        _ = try web.accounts.add("emis.feed", role: .intake)
        var client = WebClient(port: web.port)
        for (name, detail) in [
            ("emis.feed", "user=emis.feed from=127.0.0.1 factors=sso-proxy reason=intake-account"),
            ("nobody.here", "user=nobody.here from=127.0.0.1 factors=sso-proxy reason=unknown-account"),
            ("rita.reception", "user=rita.reception from=127.0.0.1 factors=sso-proxy reason=disabled"),
            // Log spoofing: the name must not pass for another account or address in the log.
            ("mo.manager from=10.9.9.9", "user=- from=127.0.0.1 factors=sso-proxy name=malformed"),
            ("MO.MANAGER", "user=- from=127.0.0.1 factors=sso-proxy name=malformed"),
            ("anna.nurse, mo.manager", "user=- from=127.0.0.1 factors=sso-proxy name=malformed"),
        ] {
            let answer = try await Self.get(&client, "/inbox", as: name)
            #expect(answer.status == 403 && answer.header("set-cookie") == nil, "\(name)")
            #expect(answer.text.contains("You cannot"), "\(name)")
            let last = try #require(try web.auditEntries().last)
            #expect(last.event == "web-signin-refused" && last.detail == detail, "\(last.detail ?? "")")
        }
        // Two header lines (a client's copy beside the proxy's): neither is believed.
        let twice = try await client.send(
            "GET", "/inbox", headers: [("X-Remote-User", "mo.manager"), ("X-Remote-User", "anna.nurse")])
        #expect(twice.status == 403 && twice.header("set-cookie") == nil)
        #expect(try web.auditEntries().allSatisfy { $0.event != "web-signin" })
        await web.stop()
    }

    @Test func aSessionNeverRidesAcrossUsers() async throws {
        let web = try await WebHarness(settings: Self.proxied(passwordSignIn: true))
        // Signed in with password and TOTP (allowed here by password_signin = true) ...
        var shared = try await web.signIn("anna.nurse")
        #expect(try await shared.get("/inbox").status == 200)
        let nurseCookie = shared.cookie
        // ... then the proxy names someone else on the same browser: the nurse's session ends.
        let switched = try await Self.get(&shared, "/inbox", as: "mo.manager")
        #expect(switched.status == 303 && shared.cookie != nurseCookie)
        let signOut = try #require(try web.auditEntries().last { $0.event == "web-signout" })
        #expect(signOut.detail == "user=anna.nurse from=127.0.0.1 reason=proxy-user-changed")
        var replay = WebClient(port: web.port)
        replay.cookie = nurseCookie
        #expect(try await replay.get("/inbox").header("location") == "/signin")
        // The proxy's account has its own session, with its own role.
        #expect(try await Self.get(&shared, "/health", as: "mo.manager").status == 200)
        await web.stop()
    }

    @Test func proxyOnlyRefusesPasswordsAndRequestsAroundTheProxy() async throws {
        let web = try await WebHarness(settings: Self.proxied())
        var client = WebClient(port: web.port)
        let page = try await client.get("/signin")
        #expect(page.status == 200 && page.text.contains("Sign in through your organisation"))
        #expect(!page.text.contains("name=\"password\""))
        let password = try await client.post(
            "/signin", [("username", "mo.manager"), ("password", web.passwords["mo.manager"]!)])
        #expect(password.status == 403 && password.header("set-cookie") == nil)
        // A signed-in session's cookie used without the header (around the proxy) is not enough.
        _ = try await Self.get(&client, "/inbox", as: "anna.nurse")
        #expect(try await Self.get(&client, "/inbox", as: "anna.nurse").status == 200)
        let around = try await Self.get(&client, "/inbox", as: nil)
        #expect(around.status == 303 && around.header("location") == "/signin")
        // A header on the sign-in page signs in too, landing on the start page; never "//host".
        var other = WebClient(port: web.port)
        #expect(try await Self.get(&other, "/signin", as: "mo.manager").header("location") == "/")
        var third = WebClient(port: web.port)
        #expect(try await Self.get(&third, "//inbox", as: "mo.manager").header("location") == "/")
        await web.stop()
    }

    @Test func startRefusesUnsafeSettings() throws {
        var settings = Self.proxied()
        settings.listen = "0.0.0.0:8443"
        settings.behindTLSProxy = true
        #expect(throws: WebError.self) { try WebServer.checkedAddress(settings) }
        settings.listen = "[::1]:8443"
        #expect(try WebServer.checkedAddress(settings).host == "::1")
        for header in ["Cookie", "host", "Authorization", "X-Forwarded-For", "Sec-Fetch-User", "Accept-Language",
                       "X Remote", "X-Remote-User\r\nX", "", "X_Remote"] {
            settings.trustedProxyUserHeader = header
            #expect(throws: WebError.self, "\(header)") { try WebServer.checkedAddress(settings) }
        }
        var noWayIn = WebSettings()
        noWayIn.passwordSignInSetting = false
        #expect(throws: WebError.self) { try WebServer.checkedAddress(noWayIn) }
        #expect(WebSettings().passwordSignIn && !Self.proxied().passwordSignIn)
    }
}
