import GatehouseKit
import Testing

/// `[directory]` in gatehouse.toml: how often the gateway syncs, and when a checkpoint is stale.
@Suite("config: [directory]")
struct DirectoryConfigTests {
    @Test func defaultsAndSettings() throws {
        let defaults = try GatehouseConfig.parse(GatehouseConfig.defaultText)
        #expect(defaults.directorySyncInterval == .seconds(60) && defaults.directoryStaleAfter == .seconds(2 * 86_400))
        let set = try GatehouseConfig.parse("[directory]\nsync_interval = \"5m\"\nstale_after = \"6h\"")
        #expect(set.directorySyncInterval == .seconds(300) && set.directoryStaleAfter == .seconds(6 * 3600))
    }

    @Test(arguments: ["[directory]\nstale_after = \"30s\"", "[directory]\nsync_interval = \"500ms\"", "[directory]\nwitnesses = 2"])
    func badSettingsAreRefused(_ text: String) {
        #expect(throws: KitError.self) { try GatehouseConfig.parse(text) }
    }
}
