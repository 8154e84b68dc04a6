import GatehouseFormat
import GatehouseKit
import Testing

@Suite("gatehouse.toml")
struct ConfigTests {
    @Test func defaultTextParsesToTheDefaults() throws {
        #expect(try GatehouseConfig.parse(GatehouseConfig.defaultText) == GatehouseConfig())
        #expect(try GatehouseConfig.parse("") == GatehouseConfig())
    }

    @Test func valuesAndOverridesAreRead() throws {
        let config = try GatehouseConfig.parse("""
            # comment
            [organisation]
            mailbox = "dir:/srv/mail"   # trailing comment
            [delivery]
            expiry = "5d"
            retry_initial = "500ms"
            breaker_failures = 3
            [spool]
            retention = "delete"
            [collector]
            unreachable_after = "30s"
            watch = "poll"
            [partners.yoi123]
            mailbox = "dir:/srv/other\\u0031"
            """)
        #expect(config.mailbox == .directory("/srv/mail"))
        #expect(config.mailboxWatching == .poll)
        #expect(GatehouseConfig().mailboxWatching == .auto)
        #expect(throws: KitError.self) { try GatehouseConfig.parse("[collector]\nwatch = \"inotify\"") }
        #expect(config.expiry == .seconds(5 * 86_400))
        #expect(config.retryInitial == .milliseconds(500))
        #expect(config.breakerFailures == 3)
        #expect(config.retention == .delete)
        #expect(config.unreachableAfter == .seconds(30))
        #expect(GatehouseConfig().unreachableAfter == .seconds(120))
        #expect(config.partnerMailboxes[try ODSCode("YOI123")] == .directory("/srv/other1"))
    }

    /// Saved with Windows line ends, the whole file was one line: after a first comment line,
    /// every setting was silently ignored.
    @Test func windowsLineEndsAreLineEnds() throws {
        let config = try GatehouseConfig.parse("# edited on a laptop\r\n[delivery]\r\nexpiry = \"5d\"\r\nbreaker_failures = 3\r\n")
        #expect(config.expiry == .seconds(5 * 86_400) && config.breakerFailures == 3)
        let error = #expect(throws: KitError.self) { try GatehouseConfig.parse("[delivery]\r\nexpiry = 5\r\n", file: "gatehouse.toml") }
        #expect(error?.message.hasPrefix("gatehouse.toml:2: key 'delivery.expiry'") == true, "\(error?.message ?? "")")
    }

    @Test(arguments: [
        ("[delivery]\nexpiry = 5", "2", "delivery.expiry"),
        ("[delivery]\nexpiry = \"10s\"", "2", "at least"),
        ("[delivery]\nexpiry = \"1d\"\nexpiry = \"2d\"", "3", "set twice"),
        ("[delivery]\nretry_initial = \"10m\"", "2", "retry_initial"),
        ("[delivery]\nbreaker_failures = 0", "2", "breaker_failures"),
        ("[spool]\nretention = \"archive\"", "2", "keep"),
        ("[collector]\nunreachable_after = \"500ms\"", "2", "at least 1s"),
        ("[spool]\nunknown_key = 1", "2", "unknown key"),
        ("[nonsense]", "1", "unknown table"),
        ("[spool]\n[spool]", "2", "twice"),
        ("[organisation]\nmailbox = \"ftp://x\"", "2", "organisation.mailbox"),
        ("[partners.Y!]", "1", "Y!"),
        ("just words", "1", "key = value"),
        ("[delivery]\nexpiry = \"1d", "2", "quoted"),
        ("[delivery]\nexpiry = \"\\q\"", "2", "escape"),
        ("[workflows]\nnames = [\"a\", \"A\"]", "2", "lower-case"),
        ("[workflows]\nnames = [\"other\", \"other\"]", "2", "listed twice"),
        ("[workflows]\nnames = []", "2", "one-line list"),
        ("[workflows]\nnames = [\"other\" \"x\"]", "2", "one-line array"),
        ("[workflows]\nnames = \"other\"", "2", "one-line list"),
        ("[workflows]\ndefault = \"transfer\"", "2", "not in 'workflows.names'"),
        ("[workflows.Reception]", "1", "[workflows.Reception]"),
        ("[workflows.gp-record]\nfolder = \"../elsewhere\"", "2", "'..'"),
        ("[workflows.gp-record]\nplace = \"x\"", "2", "unknown key"),
    ])
    func errorsNameTheLineAndKey(text: String, line: String, mention: String) {
        do {
            _ = try GatehouseConfig.parse(text, file: "gatehouse.toml")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.message.hasPrefix("gatehouse.toml:\(line):"), "\(error.message)")
            #expect(error.message.contains(mention), "\(error.message)")
        }
    }

    @Test func durationsRoundTrip() {
        for text in ["500ms", "30s", "5m", "23h", "5d"] {
            #expect(GatehouseConfig.parseDuration(text).map(GatehouseConfig.describe) == text)
        }
        for bad in ["", "5", "-1s", "1.5s", "0s", "5w", "s"] { #expect(GatehouseConfig.parseDuration(bad) == nil) }
    }
}
