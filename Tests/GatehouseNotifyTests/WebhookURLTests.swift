@testable import GatehouseNotify
import Testing

@Suite struct WebhookURLTests {
    @Test func parsesHostPortAndPath() throws {
        let url = try WebhookURL("https://hooks.example.nhs.uk:8443/gatehouse?team=it")
        #expect(url.secure && url.host == "hooks.example.nhs.uk" && url.port == 8443)
        #expect(url.path == "/gatehouse?team=it")
        #expect(try WebhookURL("http://127.0.0.1").port == 80)
        #expect(try WebhookURL("http://[::1]:9000/x").hostHeader == "[::1]:9000")
    }

    /// Nothing in a URL can add a header or a second request line, or carry a password.
    @Test func refusesWhatCouldSmuggleARequest() {
        for text in ["http://a b/", "http://host/\r\nX-Evil: 1", "ftp://host/", "http://user:pw@host/", "http://:80/",
                     "http://host:0/", "http://host:99999/"] {
            #expect(throws: NotifyError.self) { try WebhookURL(text) }
        }
    }
}
