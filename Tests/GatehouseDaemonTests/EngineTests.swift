import Foundation
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseNotify
import GatehouseTesting
import Logging
import Synchronization
import Testing

/// A clock tests move by hand.
final class ManualClock: WallClock {
    private let value = Mutex<Int64>(1_795_000_000_000)
    func now() -> Int64 { value.withLock { $0 } }
    func advance(by milliseconds: Int64) { value.withLock { $0 += milliseconds } }
}

/// Two gateways (a practice and a prison) over one mailbox folder, driven step by step.
struct TwoGateways {
    let folder: TemporaryDirectory
    let practice: GatewayEngine
    let prison: GatewayEngine
    let practiceHome: GatehouseHome
    let prisonHome: GatehouseHome
    let mailboxRoot: String
    let clock = ManualClock()

    /// With `notify`, each engine queues events in its `spool/notify/` (never sent: tests read the queue).
    /// With `transport`, each mailbox is reached through what it makes of the mailbox folder
    /// (default: a ``DirectoryTransport`` on it).
    init(settings: DaemonSettings = DaemonSettings(), notify: NotifySettings? = nil,
         transport: (@Sendable (String) -> any MailboxTransport)? = nil) throws {
        folder = try TemporaryDirectory()
        mailboxRoot = folder.appending("mailboxes")
        practiceHome = GatehouseHome(path: folder.appending("practice"))
        prisonHome = GatehouseHome(path: folder.appending("prison"))
        try FileManager.default.createDirectory(atPath: mailboxRoot, withIntermediateDirectories: true)
        let practiceCard = try KeyStore(home: practiceHome).initialise(org: ODSCode("A81001"), name: "Riverside Medical Practice")
        let prisonCard = try KeyStore(home: prisonHome).initialise(org: ODSCode("YOI123"), name: "HMP Northgate Healthcare")
        try PartnerStore(home: practiceHome).add(prisonCard)
        try PartnerStore(home: prisonHome).add(practiceCard)
        let root = mailboxRoot
        let mailboxes: @Sendable (ODSCode) throws -> (any MailboxTransport)? = { _ in
            transport?(root) ?? DirectoryTransport(root: root)
        }
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let clock = self.clock
        let notifiers = try [(practiceHome, "A81001"), (prisonHome, "YOI123")].map { home, org in
            try notify.map { settings in
                try FileManager.default.createDirectory(atPath: home.path + "/spool", withIntermediateDirectories: true)
                return try Notifier(settings: settings, organisation: ODSCode(org), folder: home.path + "/spool/notify",
                                    logger: logger, clock: { clock.now() }, audit: { _ in })
            }
        }
        practice = try GatewayEngine(gateway: Gateway(home: practiceHome), journal: SQLiteJournal(path: practiceHome.path + "/journal.sqlite"),
                                     settings: settings, clock: clock, logger: logger, notifier: notifiers[0],
                                     mailboxes: mailboxes)
        prison = try GatewayEngine(gateway: Gateway(home: prisonHome), journal: SQLiteJournal(path: prisonHome.path + "/journal.sqlite"),
                                   settings: settings, clock: clock, logger: logger, notifier: notifiers[1],
                                   mailboxes: mailboxes)
    }

    /// Drops `bytes` as `name` into the practice's outbox for YOI123 and claims it.
    func drop(_ name: String, _ bytes: [UInt8], to partner: String = "YOI123") async throws -> ClaimOutcome {
        let folder = practiceHome.path + "/spool/outbox/\(partner)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/\(name)"
        try writeClosed(bytes, to: path)
        return await practice.claim(partner: partner, path: path, name: name)
    }

    func state(_ id: BundleID) throws -> OutgoingState? {
        try SQLiteJournal(path: practiceHome.path + "/journal.sqlite").outgoing(id)?.state
    }

    func read(_ path: String) -> [UInt8]? { (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init) }
    func list(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

@Suite("Gateway engine: claim, seal, deliver, publish, receipt")
struct EngineTests {
    @Test func recordTravelsAndIsAcknowledged() async throws {
        let g = try TwoGateways()
        let content = Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8)
        guard case .claimed(let id) = try await g.drop("summary é.xml", content) else { Issue.record("not claimed"); return }
        #expect(g.list(g.practiceHome.path + "/spool/outbox/YOI123").isEmpty)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(g.list(g.mailboxRoot + "/YOI123") == ["\(id).ghb"])
        #expect(await g.prison.collect() == 1)
        let published = g.prisonHome.path + "/spool/received/A81001/\(id)"
        #expect(g.read("\(published)/summary é.xml") == content)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        #expect(g.list(g.mailboxRoot + "/A81001") == ["\(id).YOI123.ghr"])
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .acknowledged)
        #expect(g.read(g.practiceHome.path + "/spool/sent/\(id)/summary é.xml") == content)
        #expect(g.list(g.practiceHome.path + "/spool/work/out").isEmpty)
        #expect(g.list(g.practiceHome.path + "/spool/evidence/out") == ["\(id).ghb", "\(id).ghr"])
        #expect(g.list(g.prisonHome.path + "/spool/evidence/in") == ["\(id).ghb", "\(id).ghr"])
        let history = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").transitions(of: id).map(\.state)
        #expect(history == ["queued", "sealed", "delivered", "acknowledged"])
    }

    @Test func duplicateIsAnsweredWithTheOriginalReceiptAndNotRepublished() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", [1, 2, 3]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        await g.prison.collect()
        let firstReceipt = g.read(g.mailboxRoot + "/A81001/\(id).YOI123.ghr")
        // The same bundle arrives again (a retry after a lost acknowledgement, or a replay).
        try FileManager.default.copyItem(atPath: g.prisonHome.path + "/spool/evidence/in/\(id).ghb", toPath: g.mailboxRoot + "/YOI123/\(id).ghb")
        try FileManager.default.removeItem(atPath: g.mailboxRoot + "/A81001/\(id).YOI123.ghr")
        #expect(await g.prison.collect() == 1)
        #expect(g.read(g.mailboxRoot + "/A81001/\(id).YOI123.ghr") == firstReceipt)
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001") == [id.hex])
        await g.practice.collect()
        #expect(try g.state(id) == .acknowledged)
    }

    @Test func tamperedBundleIsQuarantinedAndTheSenderToldWhy() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", Array(repeating: 7, count: 5000)) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        let path = g.mailboxRoot + "/YOI123/\(id).ghb"
        let record = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").outgoing(id)
        var bytes = try #require(g.read(path), "\(String(describing: record))")
        bytes[bytes.count / 2] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        await g.prison.collect()
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001").isEmpty)
        let reason = String(decoding: g.read(g.prisonHome.path + "/spool/quarantine/\(id)/reason.txt") ?? [], as: UTF8.self)
        #expect(reason.contains("authentication-failed"))
        await g.practice.collect()
        #expect(try g.state(id) == .failed)
        let ndr = String(decoding: g.read(g.practiceHome.path + "/spool/failed/\(id)/reason.txt") ?? [], as: UTF8.self)
        #expect(ndr.contains("authentication-failed"))
        #expect(g.read(g.practiceHome.path + "/spool/failed/\(id)/a.txt") == Array(repeating: 7, count: 5000))
    }

    @Test func aChangedReceiptIsQuarantinedNotAnAcknowledgement() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        await g.prison.collect()
        let path = g.mailboxRoot + "/A81001/\(id).YOI123.ghr"
        var receipt = try #require(g.read(path))
        receipt[50] ^= 1  // inside bundle_sha256 (bytes 46-77): the signature no longer verifies
        try Data(receipt).write(to: URL(fileURLWithPath: path))
        await g.practice.collect()
        #expect(try g.state(id) == .delivered)
        #expect(g.list(g.practiceHome.path + "/spool/quarantine").count == 1)
    }

    @Test func aGenuineReceiptForOtherBytesIsAFailureNotAnAcknowledgement() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        // The prison signs, with its real key, a "processed" receipt naming another digest.
        let signed = try Receipt.signed(bundleID: id, bundleSender: ODSCode("A81001"), receiver: ODSCode("YOI123"),
                                        bundleSHA256: SHA256Hasher.hash([9, 9, 9]), receivedAt: 1_795_000_000, disposition: .processed,
                                        manifestSHA256: SHA256Hasher.hash([1]), fileDigests: [],
                                        signingKey: KeyStore(home: g.prisonHome).loadSigningKey())
        try FileManager.default.createDirectory(atPath: g.mailboxRoot + "/A81001", withIntermediateDirectories: true)
        try Data(signed.encoded).write(to: URL(fileURLWithPath: g.mailboxRoot + "/A81001/\(id).YOI123.ghr"))
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .failed)
        let reason = String(decoding: g.read(g.practiceHome.path + "/spool/failed/\(id)/reason.txt") ?? [], as: UTF8.self)
        #expect(reason.contains("not the"), "\(reason)")
    }

    @Test func hostileMailIsHandledOnceAndLeavesTheMailbox() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        // created_at (header bytes 29-36) set to 2^64-1 before the signature is checked: a refusal, not a crash.
        let path = g.mailboxRoot + "/YOI123/\(id).ghb"
        var bytes = try #require(g.read(path))
        for i in 29..<37 { bytes[i] = 0xFF }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(await g.prison.collect() == 1)
        #expect(try SQLiteJournal(path: g.prisonHome.path + "/journal.sqlite").incoming(id)?.state == .rejected)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        #expect(g.list(g.prisonHome.path + "/spool/quarantine/\(id)").contains("\(id).ghb"))
        // Junk under a bundle name, twice: refused once (its sender is unknown, so nobody is
        // answered), then handled as a duplicate and removed, never left to be fetched for ever.
        let junk = "0123456789abcdef0123456789abcdef"
        for _ in 0..<2 {
            try Data(repeating: 0x41, count: 300).write(to: URL(fileURLWithPath: g.mailboxRoot + "/YOI123/\(junk).ghb"))
            #expect(await g.prison.collect() == 1)
            #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        }
        // Something far larger than any receipt, under a receipt name: quarantined and removed.
        try FileManager.default.createDirectory(atPath: g.mailboxRoot + "/A81001", withIntermediateDirectories: true)
        try Data(repeating: 0, count: Receipt.maxLength + 1).write(to: URL(fileURLWithPath: g.mailboxRoot + "/A81001/\(id).YOI123.ghr"))
        #expect(await g.practice.collect() == 1)
        #expect(g.list(g.mailboxRoot + "/A81001").isEmpty)
        #expect(try g.state(id) == .delivered)
    }

    @Test func unknownPartnerAndUnsafeFilesGoToFailedWithAReason() async throws {
        let g = try TwoGateways()
        let outcome = try await g.drop("a.txt", [1], to: "ZZZ999")
        guard case .refused(let reason) = outcome else { Issue.record("claimed"); return }
        #expect(reason.contains("not a known partner"))
        let failed = g.list(g.practiceHome.path + "/spool/failed")
        #expect(failed.count == 1)
        #expect(g.list(g.practiceHome.path + "/spool/failed/\(failed[0])") == ["a.txt", "reason.txt"])
        // A symbolic link is refused, and what it points at is untouched.
        let target = g.folder.appending("secret.txt")
        try Data([9]).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createDirectory(atPath: g.practiceHome.path + "/spool/outbox/YOI123", withIntermediateDirectories: true)
        let link = g.practiceHome.path + "/spool/outbox/YOI123/link.txt"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        guard case .refused = await g.practice.claim(partner: "YOI123", path: link, name: "link.txt") else { Issue.record("claimed a link"); return }
        #expect(g.read(target) == [9])
    }

    @Test func undeliverableBundleExpiresWithANonDeliveryReport() async throws {
        var settings = DaemonSettings()
        settings.expiry = .seconds(3600)
        let g = try TwoGateways(settings: settings)
        // The partner's mailbox server is unreachable: its folder is gone.
        try FileManager.default.removeItem(atPath: g.mailboxRoot)
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .sealed)
        let record = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").outgoing(id)
        #expect(record?.attempts == 1)
        #expect(record?.lastError?.contains("delivery to YOI123 failed") == true)
        g.clock.advance(by: 3_600_001)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .expired)
        #expect(g.list(g.practiceHome.path + "/spool/failed/\(id)") == ["a.txt", "reason.txt"])
    }

    @Test func interruptedClaimIsFinishedOnRecovery() async throws {
        let g = try TwoGateways()
        // Simulate a crash between journalling a claim and moving the file.
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        let source = g.practiceHome.path + "/spool/outbox/YOI123/late.txt"
        try FileManager.default.createDirectory(atPath: g.practiceHome.path + "/spool/outbox/YOI123", withIntermediateDirectories: true)
        try Data([5]).write(to: URL(fileURLWithPath: source))
        let id = try BundleID(hex: "00112233445566778899aabbccddeeff")
        try journal.insert(OutgoingRecord(bundleID: id, partner: try ODSCode("YOI123"), createdAt: g.clock.now(), expiresAt: g.clock.now() + 86_400_000),
                           files: [OutgoingFile(bundleID: id, position: 0, name: "late.txt", size: 1, sourcePath: source,
                                                workPath: g.practiceHome.path + "/spool/work/out/\(id)/late.txt")])
        try await g.practice.recover()
        #expect(g.read(g.practiceHome.path + "/spool/work/out/\(id)/late.txt") == [5])
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
    }

    @Test func staleBundleIsRefusedAsExpired() async throws {
        var settings = DaemonSettings()
        settings.expiry = .seconds(3600)
        let g = try TwoGateways(settings: settings)
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        // The bundle sits in the mailbox past the expiry and an hour of clock skew.
        g.clock.advance(by: 2 * 3_600_000 + 1000)
        await g.prison.collect()
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001").isEmpty)
        let record = try SQLiteJournal(path: g.prisonHome.path + "/journal.sqlite").incoming(id)
        #expect(record?.state == .rejected)
        #expect(record?.reason?.hasPrefix("expired") == true)
    }

    /// Writes `count` records into the practice's outbox for YOI123 and returns them as outbox files.
    func outboxFiles(_ g: TwoGateways, count: Int, size: Int = 2000, prefix: String = "r") throws -> [OutboxFile] {
        let folder = g.practiceHome.path + "/spool/outbox/YOI123"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return try (0..<count).map { i in
            let name = "\(prefix)\(i).xml"
            try Data("<record nhs=\"99900\(String(format: "%05d", i))\">\(String(repeating: "Entry \(i). ", count: size / 10))</record>".utf8)
                .write(to: URL(fileURLWithPath: "\(folder)/\(name)"))
            return OutboxFile(partner: "YOI123", path: "\(folder)/\(name)", name: name, size: 0)
        }
    }

    @Test func recordsClaimedTogetherTravelInOneBundleWithOneReceipt() async throws {
        var settings = DaemonSettings()
        settings.bundleMaxFiles = 8
        let g = try TwoGateways(settings: settings)
        let files = try outboxFiles(g, count: 20)
        let outcomes = await g.practice.claim(files)
        let ids = outcomes.compactMap { if case .claimed(let id) = $0 { id } else { nil } }
        #expect(ids.count == 20)
        // 20 records at most 8 to a bundle: 8 + 8 + 4, in the order they were offered.
        let groups = Dictionary(grouping: ids, by: { $0 })
        #expect(Set(ids).count == 3)
        #expect(ids.prefix(8).allSatisfy { $0 == ids[0] } && ids[8..<16].allSatisfy { $0 == ids[8] } && groups[ids[16]]?.count == 4)
        #expect(g.list(g.practiceHome.path + "/spool/outbox/YOI123").isEmpty)
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        #expect(try journal.files(of: ids[0]).map(\.name) == (0..<8).map { "r\($0).xml" })
        #expect(try journal.outgoingCounts() == [.queued: 3])
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 3)
        // Every record is published with its bytes (more than the few synced one by one).
        for (i, file) in files.enumerated() {
            let published = g.prisonHome.path + "/spool/received/A81001/\(ids[i])/\(file.name)"
            #expect(g.read(published) == g.read(g.practiceHome.path + "/spool/work/out/\(ids[i])/\(file.name)"))
            #expect(g.read(published)?.count ?? 0 > 1000)
        }
        #expect(await g.practice.collect() == 3)
        #expect(try journal.outgoingCounts() == [.acknowledged: 3])
        #expect(g.list(g.practiceHome.path + "/spool/sent/\(ids[0])") == (0..<8).map { "r\($0).xml" }.sorted())
    }

    @Test func bundlesAreCutByFileCountAndSizeAndPartner() {
        let a = try! ODSCode("YOI123"), b = try! ODSCode("A81001")
        let files: [(partner: ODSCode, name: String, size: Int64)] = [(a, 10), (a, 10), (b, 10), (a, 100), (a, 5), (a, 1), (a, 1), (a, 1)]
            .enumerated().map { ($1.0, "r\($0).xml", $1.1) }
        // At most 3 files and 20 bytes; the 100-byte file travels alone; b's file never joins a's.
        #expect(GatewayEngine.batches(files, maxFiles: 3, maxBytes: 20) == [[0, 1], [3], [4, 5, 6], [7], [2]])
        #expect(GatewayEngine.batches(files, maxFiles: 1, maxBytes: 1 << 20).count == files.count)
    }

    @Test func anOpenBreakerIsJournalledSoTheLoopWaits() async throws {
        var settings = DaemonSettings()
        settings.breakerFailures = 1
        settings.breakerCooldown = .seconds(60)
        settings.bundleMaxFiles = 1
        let g = try TwoGateways(settings: settings)
        try FileManager.default.removeItem(atPath: g.mailboxRoot)
        _ = await g.practice.claim(try outboxFiles(g, count: 40))
        // The first delivery fails and opens the breaker; every other bundle is sealed and
        // waits for the cool-down, journalled, so no pass finds work due at once.
        var passes = 0
        while let next = await g.practice.processOutgoing(), next <= g.clock.now(), passes < 10 { passes += 1 }
        #expect(passes < 10)
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        #expect(try journal.outgoingCounts() == [.sealed: 40])
        #expect(try journal.dueOutgoing(now: g.clock.now(), limit: 100).isEmpty)
        #expect(try journal.nextAttemptAt() ?? 0 > g.clock.now())
    }
}
