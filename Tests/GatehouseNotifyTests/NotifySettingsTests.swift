import GatehouseKit
import Testing

/// `[notify]` in gatehouse.toml.
@Suite struct NotifySettingsTests {
    @Test func parsesTargetsAndFilters() throws {
        let config = try GatehouseConfig.parse("""
            [notify]
            events = ["delivery.failed", "receipt.overdue"]
            receipt_overdue = "2h"
            queue_max = 50
            [notify.command]
            argv = ["/usr/local/bin/page", "--team", "it; rm -rf /"]
            timeout = "5s"
            [notify.webhook]
            url = "https://hooks.example.nhs.uk/gatehouse"
            events = ["pack.received"]
            """)
        let notify = config.notify
        #expect(notify.command?.argv == ["/usr/local/bin/page", "--team", "it; rm -rf /"])
        #expect(notify.command?.timeout == .seconds(5) && notify.receiptOverdue == .seconds(7200))
        #expect(notify.queueMax == 50)
        #expect(notify.events(for: "command") == ["delivery.failed", "receipt.overdue"])
        #expect(notify.events(for: "webhook") == ["pack.received"])
        #expect(!notify.includePatientData && notify.isEnabled)
        #expect(GatehouseConfig().notify.isEnabled == false)
    }

    @Test func refusesWhatCannotWork() {
        for text in [
            "[notify.command]\nargv = [\"page-it\"]",  // not an absolute path: PATH is not searched
            "[notify.command]\ntimeout = \"5s\"",                              // no argv
            "[notify.webhook]\nurl = \"ftp://example\"",
            "[notify.webhook]\nurl = \"https://a b\"",
            "[notify]\nevents = [\"pack.recieved\"]",
            "[notify]\nsecret = \"x\"",
            "[notify.email]\nto = \"it@example\"",
            "[notify]\nqueue_max = 0",
        ] {
            #expect(throws: KitError.self, "\(text)") { try GatehouseConfig.parse(text) }
        }
    }
}
