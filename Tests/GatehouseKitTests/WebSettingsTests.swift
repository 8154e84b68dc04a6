import GatehouseKit
import Testing

/// `[web]` in gatehouse.toml: the single-sign-on proxy keys.
@Suite("gatehouse.toml [web]")
struct WebSettingsTests {
    @Test func proxyHeaderAndPasswordSignInAreRead() throws {
        #expect(GatehouseConfig().web.trustedProxyUserHeader == nil && GatehouseConfig().web.passwordSignIn)
        let proxied = try GatehouseConfig.parse("[web]\ntrusted_proxy_user_header = \"X-Remote-User\"").web
        #expect(proxied.trustedProxyUserHeader == "X-Remote-User")
        // Behind the proxy, the password form is off unless asked for.
        #expect(!proxied.passwordSignIn)
        let both = try GatehouseConfig.parse(
            "[web]\ntrusted_proxy_user_header = \"X-CIS2-UID\"\npassword_signin = true").web
        #expect(both.passwordSignIn && both.passwordSignInSetting == true)
    }

    /// A header a browser sets (or no plain token at all) could carry the client's own value past
    /// a proxy that does not replace it: refused with the line and key.
    @Test(arguments: [
        "Cookie", "Host", "authorization", "Proxy-Authorization", "X-Forwarded-For", "Forwarded", "Origin",
        "Sec-Fetch-Site", "Accept-Language", "Content-Type", "If-None-Match", "User-Agent",
        "X Remote User", "X-Remote-User:", "X_Remote_User", "1-Header", "", "X-Remote-\u{202E}User",
    ])
    func unsafeHeaderNamesAreRefused(name: String) {
        do {
            _ = try GatehouseConfig.parse("[web]\ntrusted_proxy_user_header = \"\(name)\"", file: "gatehouse.toml")
            Issue.record("accepted: \(name)")
        } catch {
            #expect(error.message.hasPrefix("gatehouse.toml:2:"), "\(error.message)")
            #expect(error.message.contains("trusted_proxy_user_header"), "\(error.message)")
        }
        #expect(WebSettings.proxyHeaderProblem(name) != nil)
    }

    @Test func wrongTypesAreRefused() {
        #expect(throws: KitError.self) { try GatehouseConfig.parse("[web]\ntrusted_proxy_user_header = true") }
        #expect(throws: KitError.self) { try GatehouseConfig.parse("[web]\npassword_signin = \"no\"") }
    }
}
