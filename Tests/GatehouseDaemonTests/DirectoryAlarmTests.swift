import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import GatehouseNotify
import GatehouseTesting
import Logging
import Testing

/// A network whose authority publishes into a `dir:` mailbox's `directory/` folder, and a
/// practice that joined it and collects from that mailbox.
struct DirectoryNetwork {
    let folder: TemporaryDirectory
    let home: GatehouseHome
    let own: IdentityCard
    let authority: NetworkAuthority
    let card: NetworkCard
    let mailbox: String
    let now = KeyStore.now()

    init(folder: TemporaryDirectory, home: GatehouseHome) throws {
        self.folder = folder
        self.home = home
        own = try KeyStore(home: home).loadOwnCard()
        authority = NetworkAuthority(home: GatehouseHome(path: folder.appending("authority")))
        card = try NetworkAuthority.initialise(home: authority.home, name: "directory.nhs.example/alarm")
        mailbox = folder.appending("mailbox")
        try FileManager.default.createDirectory(atPath: mailbox, withIntermediateDirectories: true)
        try admit(own)
        try DirectoryClient(home: home).join(card)
    }

    /// The authority admits `card` and publishes the new checkpoint into the mailbox.
    func admit(_ card: IdentityCard) throws {
        try authority.stage(try DirectoryEntry.admit(card, validFrom: now - 60, validUntil: now + 86_400))
        _ = try authority.publish(key: try authority.loadRootKey(), now: now, mirrors: [mailbox + "/directory"])
    }

    /// A fetcher reading the mailbox's `directory/`.
    func fetcher(logger: Logger) throws -> DirectoryFetcher {
        var config = GatehouseConfig()
        config.mailbox = try MailboxAddress("dir:" + mailbox)
        return DirectoryFetcher(home: home, own: own, connector: MailboxConnector(home: home, own: own, config: config,
                                                                                   logger: logger))
    }
}

/// Directory alarms reach people (docs/NOTIFY.md `directory.alarm`): a relay serving a rolled
/// back or forked directory is announced once per proof, however often it serves it again.
@Suite("directory alarms are announced")
struct DirectoryAlarmTests {
    @Test func aRollbackOrAForkIsAnnouncedOncePerProof() async throws {
        let folder = try TemporaryDirectory()
        let home = GatehouseHome(path: folder.appending("practice"))
        _ = try KeyStore(home: home).initialise(org: try ODSCode("A81001"), name: "Riverside Medical Practice")
        let network = try DirectoryNetwork(folder: folder, home: home)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var settings = NotifySettings()
        settings.webhook = NotifySettings.Webhook(url: "http://127.0.0.1:9/never-sent")
        let queueFolder = folder.appending("notify")
        let notifier = try Notifier(settings: settings, organisation: network.own.org, folder: queueFolder,
                                    logger: logger, clock: { 1_000 }, audit: { _ in })
        let service = DirectorySyncService(fetcher: try network.fetcher(logger: logger), own: network.own,
                                           logger: logger, notifier: notifier)
        func alarms() throws -> [NotifyEvent] {
            try NotifyQueue(folder: queueFolder, limit: 100).all().map(\.event).filter { $0.event == "directory.alarm" }
        }
        #expect(await service.syncOnce() == [])
        let served = network.mailbox + "/directory/checkpoint"
        let old = try #require(FileManager.default.contents(atPath: served))
        let prison = try KeyStore(home: GatehouseHome(path: folder.appending("prison")))
            .initialise(org: try ODSCode("YOI123"), name: "HMP Northgate Healthcare")
        try network.admit(prison)
        #expect(await service.syncOnce() == [])
        #expect(try alarms().isEmpty)

        // The relay replays the older checkpoint: refused, announced once, not again next round.
        try old.write(to: URL(fileURLWithPath: served))
        #expect(await service.syncOnce().first?.hasPrefix("directory rollback") == true)
        #expect(await service.syncOnce().first?.hasPrefix("directory rollback") == true)
        let rollback = try alarms()
        #expect(rollback.count == 1 && rollback.first?.reason?.hasPrefix("rollback: directory rollback") == true,
                "\(rollback)")
        #expect(rollback.first?.organisation == "A81001" && rollback.first?.partner == nil)

        // A second history of three entries from the same key: a fork, a second alarm, once.
        var other = DirectoryLog()
        for card in [prison, network.own, prison] {
            other.append(try DirectoryEntry.admit(card, validFrom: network.now, validUntil: network.now + 86_400))
        }
        let forked = TileFolder(path: network.mailbox + "/directory")
        for (path, bytes) in other.tiles(since: 0) { try forked.write(path, bytes) }
        let key = try network.authority.loadRootKey()
        let checkpoint = try other.checkpoint(verifier: network.card.verifier, key: key, time: network.now)
        try forked.writeCheckpoint(checkpoint.bytes)
        #expect(await service.syncOnce().first?.hasPrefix("directory fork") == true)
        // From then on nothing new is trusted: said every round, announced once.
        #expect(await service.syncOnce().first?.hasPrefix("directory halted") == true)
        let both = try alarms()
        #expect(both.count == 2 && both.contains { $0.reason?.hasPrefix("fork: directory fork") == true }, "\(both)")
    }
}
