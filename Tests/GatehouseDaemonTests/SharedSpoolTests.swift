import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseNotify
import GatehouseTesting
import Logging
import Synchronization
import Testing

/// A journal as a node among several sees it: shared, with an organisation's spool lease the
/// test hands out and takes back; everything else is the SQLite journal's.
final class LeasedJournal: Journal {
    let base: SQLiteJournal
    let lease = Mutex(false)
    init(_ base: SQLiteJournal) { self.base = base }

    var isShared: Bool { true }
    func holdsSpoolLease() throws -> Bool { lease.withLock { $0 } }
    func insert(_ bundles: [NewOutgoing]) throws { try base.insert(bundles) }
    func save(_ record: OutgoingRecord, detail: String?) throws -> Bool { try base.save(record, detail: detail) }
    func outgoing(_ bundleID: BundleID) throws -> OutgoingRecord? { try base.outgoing(bundleID) }
    func outgoingIDs(startingWith prefix: String, limit: Int) throws -> [BundleID] {
        try base.outgoingIDs(startingWith: prefix, limit: limit)
    }
    func outgoing(in states: [OutgoingState]) throws -> [OutgoingRecord] { try base.outgoing(in: states) }
    func dueOutgoing(now: Int64, limit: Int) throws -> [OutgoingRecord] { try base.dueOutgoing(now: now, limit: limit) }
    func nextAttemptAt() throws -> Int64? { try base.nextAttemptAt() }
    func expiredOutgoing(now: Int64) throws -> [OutgoingRecord] { try base.expiredOutgoing(now: now) }
    func outgoingCounts() throws -> [OutgoingState: Int] { try base.outgoingCounts() }
    func openOutgoingByPartner() throws -> [OpenOutgoingCount] { try base.openOutgoingByPartner() }
    func newestOutgoing(limit: Int) throws -> [(record: OutgoingRecord, files: [OutgoingFile])] {
        try base.newestOutgoing(limit: limit)
    }
    func files(of bundleID: BundleID) throws -> [OutgoingFile] { try base.files(of: bundleID) }
    func queuedClaim(sourcePath: String) throws -> OutgoingFile? { try base.queuedClaim(sourcePath: sourcePath) }
    func claim(sourcePath: String, since: Int64) throws -> OutgoingFile? { try base.claim(sourcePath: sourcePath, since: since) }
    func isClaimed(sourcePath: String) throws -> Bool { try base.isClaimed(sourcePath: sourcePath) }
    func resizeFiles(of bundleID: BundleID, sizes: [(position: Int, size: Int64)], at time: Int64, detail: String) throws {
        try base.resizeFiles(of: bundleID, sizes: sizes, at: time, detail: detail)
    }
    func removeFile(of bundleID: BundleID, position: Int, at time: Int64, detail: String) throws {
        try base.removeFile(of: bundleID, position: position, at: time, detail: detail)
    }
    func incoming(_ bundleID: BundleID) throws -> IncomingRecord? { try base.incoming(bundleID) }
    func insert(_ record: IncomingRecord, detail: String?, context: PackContext?) throws {
        try base.insert(record, detail: detail, context: context)
    }
    func resolveHeld(_ record: IncomingRecord, detail: String?, context: PackContext?) throws -> Bool {
        try base.resolveHeld(record, detail: detail, context: context)
    }
    func heldIncoming() throws -> [IncomingRecord] { try base.heldIncoming() }
    func allIncoming(limit: Int) throws -> [IncomingRecord] { try base.allIncoming(limit: limit) }
    func incoming(matching filter: IncomingFilter) throws -> [(record: IncomingRecord, pack: JournalPack?)] {
        try base.incoming(matching: filter)
    }
    func transitions(of bundleID: BundleID) throws -> [Transition] { try base.transitions(of: bundleID) }
    func pack(of bundleID: BundleID, direction: String) throws -> JournalPack? {
        try base.pack(of: bundleID, direction: direction)
    }
    func outgoingBundle(forPack name: String) throws -> BundleID? { try base.outgoingBundle(forPack: name) }
}

/// Crash recovery on a spool shared by several nodes happens when a node gains the spool lease,
/// never when a node starts: the spool may hold another live node's work.
@Suite("A spool shared by several nodes")
struct SharedSpoolTests {
    let folder: TemporaryDirectory
    let home: GatehouseHome
    let journal: LeasedJournal
    let engine: GatewayEngine

    /// A practice that knows a prison, on a shared journal whose spool lease it does not hold yet.
    init() throws {
        folder = try TemporaryDirectory()
        home = GatehouseHome(path: folder.appending("practice"))
        let prison = GatehouseHome(path: folder.appending("prison"))
        _ = try KeyStore(home: home).initialise(org: ODSCode("A81001"), name: "Riverside Medical Practice")
        try PartnerStore(home: home).add(try KeyStore(home: prison).initialise(org: ODSCode("YOI123"), name: "HMP Northgate"))
        journal = LeasedJournal(try SQLiteJournal(path: folder.appending("journal.sqlite")))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let root = folder.appending("mailboxes")
        engine = try GatewayEngine(gateway: Gateway(home: home), journal: journal, settings: DaemonSettings(),
                                   logger: logger, mailboxes: { _ in DirectoryTransport(root: root) })
    }

    @Test func recoveryWaitsForTheSpoolLeaseAndThenFinishesADeadHoldersClaim() async throws {
        let spool = SpoolLayout(home: home)
        // Another node is collecting (a download in work/in) and the previous spool holder died
        // between journalling a claim and moving its original out of the outbox.
        let download = spool.work + "/in/.tmp-collecting"
        try writeClosed(Array("partial".utf8), to: download)
        let outbox = spool.outbox + "/YOI123"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        try writeClosed(Array("<record/>".utf8), to: outbox + "/a.xml")
        let id = TestID.bundle(String(repeating: "ab", count: 16))
        try journal.insert(OutgoingRecord(bundleID: id, partner: TestID.ods("YOI123"), createdAt: 1, expiresAt: .max), files: [
            OutgoingFile(bundleID: id, position: 0, name: "a.xml", size: 9, sourcePath: outbox + "/a.xml",
                         workPath: spool.outgoingWork(id) + "/a.xml"),
        ])

        // Starting touches neither.
        try await engine.recover()
        #expect(FileManager.default.fileExists(atPath: download))
        #expect(FileManager.default.fileExists(atPath: outbox + "/a.xml"))
        #expect(await engine.holdsSpoolLease() == false)
        #expect(FileManager.default.fileExists(atPath: outbox + "/a.xml"))

        // Gaining the lease finishes the claim (the original moves into its bundle's folder,
        // once) and clears the dead holder's half-collected copies.
        journal.lease.withLock { $0 = true }
        #expect(await engine.holdsSpoolLease())
        #expect(!FileManager.default.fileExists(atPath: outbox + "/a.xml"))
        #expect(FileManager.default.fileExists(atPath: spool.outgoingWork(id) + "/a.xml"))
        #expect(!FileManager.default.fileExists(atPath: download))
        #expect(try journal.outgoing(in: [.queued]).map(\.bundleID) == [id])
    }

    /// Expiry and key upkeep happen once per organisation: on the node holding its spool lease.
    @Test func onlyTheSpoolLeaseHolderExpires() async throws {
        var record = OutgoingRecord(bundleID: TestID.bundle(String(repeating: "cd", count: 16)), partner: TestID.ods("YOI123"), createdAt: 1,
                                    expiresAt: 2)
        record.state = .delivered
        try journal.insert(record, files: [])
        _ = await engine.processOutgoing()
        #expect(try journal.outgoing(record.bundleID)?.state == .delivered)
        journal.lease.withLock { $0 = true }
        #expect(await engine.holdsSpoolLease())
        _ = await engine.processOutgoing()
        #expect(try journal.outgoing(record.bundleID)?.state == .expired)
    }

    /// Held bundles are opened or refused once per organisation: on the node holding its spool
    /// lease, which reads them afresh from the journal when it gains the lease.
    @Test func onlyTheSpoolLeaseHolderResolvesHeldBundles() async throws {
        let spool = SpoolLayout(home: home)
        let id = TestID.bundle(String(repeating: "ef", count: 16))
        try FileManager.default.createDirectory(atPath: spool.held + "/" + id.hex, withIntermediateDirectories: true)
        try writeClosed(Array("not a bundle".utf8), to: spool.held + "/\(id)/\(id).ghb")
        // Held by the previous holder long ago: past [limits] held_expire.
        try journal.insert(IncomingRecord(
            bundleID: id, sender: TestID.ods("B82002"), state: .held, receivedAt: 1, bundleSHA256: String(repeating: "0", count: 64),
            reason: "unknown-sender: B82002 is not a partner here", receipt: [1]), detail: "held")
        #expect(await engine.upkeepHeld() == 0)
        #expect(try journal.incoming(id)?.state == .held)
        journal.lease.withLock { $0 = true }
        #expect(await engine.holdsSpoolLease())
        #expect(await engine.upkeepHeld() == 1)
        #expect(try journal.incoming(id)?.state == .rejected)
        #expect(try journal.transitions(of: id).map(\.state) == ["held", "rejected"])
    }

    /// Nodes sharing a home share its notification queue: only the spool lease holder sends.
    @Test func onlyTheSpoolLeaseHolderSendsNotifications() async throws {
        var settings = NotifySettings()
        // A command that reads the event: /bin/true exits before it is written, and the write's
        // SIGPIPE killed the test process now and then (the daemon ignores SIGPIPE; tests do not).
        settings.command = NotifySettings.Command(argv: ["/bin/sh", "-c", "cat >/dev/null"])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let queue = folder.appending("notify")
        let notifier = try Notifier(settings: settings, organisation: ODSCode("A81001"), folder: queue,
                                    logger: logger, clock: { SystemWallClock().now() }, audit: { _ in })
        let engine = self.engine
        let service = NotifyService(notifier: notifier, mayDrain: { await engine.holdsSpoolLeaseNow })
        notifier.emit(notifier.event("delivery.failed"))
        let waiting = { try FileManager.default.contentsOfDirectory(atPath: queue).filter { $0.hasSuffix(".json") } }
        #expect(try waiting().count == 1)
        _ = await service.drainOnce()
        #expect(try waiting().count == 1)
        journal.lease.withLock { $0 = true }
        #expect(await engine.holdsSpoolLease())
        _ = await service.drainOnce()
        #expect(try waiting().isEmpty)
    }

    /// Nodes sharing a home share its `directory/` folder: only the spool lease holder syncs it.
    @Test func onlyTheSpoolLeaseHolderSyncsTheDirectory() async throws {
        let network = try DirectoryNetwork(folder: folder, home: home)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = DirectorySyncService(engine: engine, fetcher: try network.fetcher(logger: logger),
                                           own: network.own, logger: logger)
        let client = DirectoryClient(home: home)
        _ = await service.syncOnce()
        #expect(try client.log.readCheckpoint() == nil)
        journal.lease.withLock { $0 = true }
        #expect(await engine.holdsSpoolLease())
        _ = await service.syncOnce()
        #expect(try client.log.readCheckpoint() != nil)
        #expect(try client.mirror()?.log.size == 1)
    }
}
