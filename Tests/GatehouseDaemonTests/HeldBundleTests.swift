import Foundation
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

extension TwoGateways {
    /// The prison forgets the practice's card (as if it had never added it); returns the card.
    func prisonUnpinsPractice() throws -> IdentityCard {
        let card = try #require(try PartnerStore(home: prisonHome).card(for: ODSCode("A81001")))
        try FileManager.default.removeItem(atPath: PartnerStore(home: prisonHome).cardPath(for: ODSCode("A81001")))
        return card
    }

    func prisonJournal() throws -> SQLiteJournal { try SQLiteJournal(path: prisonHome.path + "/journal.sqlite") }
    func practiceRecord(_ id: BundleID) throws -> OutgoingRecord? {
        try SQLiteJournal(path: practiceHome.path + "/journal.sqlite").outgoing(id)
    }
    func receipts(in org: String) -> [String] { list("\(mailboxRoot)/\(org)").filter { $0.hasSuffix(".ghr") } }

    /// A bundle claiming to be A81001's, sealed for the prison by someone holding `signer`'s key.
    func forged(by signer: TestOrganisation, createdAt: UInt64) throws -> (id: BundleID, bytes: [UInt8]) {
        let prison = try KeyStore(home: prisonHome).loadOwnCard()
        let sealer = BundleSealer(
            sender: try ODSCode("A81001"), recipients: [SealRecipient(org: prison.org, key: prison.encryptionKey)])
        let sink = MemorySink()
        let id = BundleID.random()
        let body = Array("<summary nhs=\"9990000018\">forged</summary>".utf8)
        _ = try sealer.seal(
            bundleID: id, createdAt: createdAt,
            files: [
                SealInput(
                    name: "summary.xml", size: UInt64(body.count),
                    source: MemorySource(body))
            ], signingKey: signer.signing, to: sink)
        return (id, sink.bytes)
    }
}

/// Bundles from a sender the receiver has not pinned are held (FORMAT.md §4.1), driven step by
/// step with a hand-moved clock.
@Suite("Held bundles: unknown sender")
struct HeldBundleTests {
    @Test func heldThenOpenedWhenTheCardIsAddedAndAHeldReceiptNeverUndoesTheEnd() async throws {
        let g = try TwoGateways()
        let card = try g.prisonUnpinsPractice()
        guard case .claimed(let id) = try await g.drop("summary.xml", Array("<summary/>".utf8)) else {
            Issue.record("not claimed")
            return
        }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        // Held: the bytes kept intact, journalled with the reason, and the sender told.
        let held = try #require(try g.prisonJournal().incoming(id))
        #expect(
            held.state == .held && held.sender?.value == "A81001"
                && held.reason?.hasPrefix("unknown-sender: A81001 is not a partner") == true)
        #expect(
            g.read(g.prisonHome.path + "/spool/held/\(id)/\(id).ghb")
                == g.read(g.practiceHome.path + "/spool/work/out/\(id).ghb"))
        #expect(g.list(g.prisonHome.path + "/spool/received").isEmpty && g.list(g.mailboxRoot + "/YOI123").isEmpty)
        #expect(g.receipts(in: "A81001") == ["\(id).YOI123.held.ghr"])
        let heldReceipt = try #require(g.read(g.mailboxRoot + "/A81001/\(id).YOI123.held.ghr"))
        #expect(try Receipt.parse(heldReceipt).disposition == .held(.unknownSender))
        #expect(await g.practice.collect() == 1)
        #expect(try g.practiceRecord(id)?.state == .held)
        #expect(try g.practiceRecord(id)?.lastError == "held by YOI123: they have not added your card")
        // Nothing happens until the card is added; then it is opened at the next look.
        #expect(await g.prison.upkeepHeld() == 0)
        try PartnerStore(home: g.prisonHome).add(card)
        #expect(await g.prison.upkeepHeld() == 1)
        #expect(try g.prisonJournal().incoming(id)?.state == .published)
        #expect(g.read(g.prisonHome.path + "/spool/received/A81001/\(id)/summary.xml") == Array("<summary/>".utf8))
        #expect(g.list(g.prisonHome.path + "/spool/held").isEmpty)
        #expect(g.list(g.prisonHome.path + "/spool/evidence/in") == ["\(id).ghb", "\(id).ghr"])
        #expect(await g.practice.collect() == 1)
        #expect(try g.practiceRecord(id)?.state == .acknowledged)
        // A replay of the held receipt after the processed one changes nothing.
        try g.put(heldReceipt, in: "A81001", as: "\(id).YOI123.held.ghr")
        #expect(await g.practice.collect() == 1)
        #expect(try g.practiceRecord(id)?.state == .acknowledged)
        let history = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").transitions(of: id).map(\.state)
        #expect(history == ["queued", "sealed", "delivered", "held", "acknowledged"])
    }

    /// A card added while the gateway was stopped: the held bundle is opened at its first look
    /// after the start, from what the journal and spool/held/ say (the held receipt went out:
    /// the processed one follows at once).
    @Test func aHeldBundleIsOpenedAfterARestartOnceTheCardIsThere() async throws {
        let g = try TwoGateways()
        let card = try g.prisonUnpinsPractice()
        guard case .claimed(let id) = try await g.drop("a.txt", [1, 2, 3]) else {
            Issue.record("not claimed")
            return
        }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        #expect(g.list(g.prisonHome.path + "/spool/held/\(id)").contains("receipt-sent"))
        // A folder no held record names (a crash before the journal said held) goes at start.
        let stray = g.prisonHome.path + "/spool/held/0123456789abcdef0123456789abcdef"
        try FileManager.default.createDirectory(atPath: stray, withIntermediateDirectories: true)
        try PartnerStore(home: g.prisonHome).add(card)
        let restarted = try GatewayEngine(
            gateway: Gateway(home: g.prisonHome), journal: g.prisonJournal(), settings: DaemonSettings(),
            clock: g.clock,
            logger: .init(label: "test"), mailboxes: { _ in DirectoryTransport(root: g.mailboxRoot) })
        #expect(await restarted.upkeepHeld() == 1)
        #expect(g.list(g.prisonHome.path + "/spool/held").isEmpty)
        #expect(try g.prisonJournal().incoming(id)?.state == .published)
        #expect(g.receipts(in: "A81001") == ["\(id).YOI123.ghr", "\(id).YOI123.held.ghr"])
        #expect(await g.practice.collect() == 2)
        #expect(try g.state(id) == .acknowledged)
    }

    @Test func aHeldReceiptSignedByAnotherPartnerIsRefused() async throws {
        let g = try TwoGateways()
        let insider = try Insider(in: g)
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else {
            Issue.record("not claimed")
            return
        }
        _ = await g.practice.processOutgoing()
        let forged = try insider.forgeReceipt(
            for: id, receiver: "YOI123", digest: try g.sentDigest(id), disposition: .held(.unknownSender))
        try g.put(forged, in: "A81001", as: "\(id).YOI123.held.ghr")
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .delivered)
        #expect(g.list(g.practiceHome.path + "/spool/quarantine").contains { $0.hasPrefix("receipt-") })
    }

    @Test func aHeldBundleExpiresWithAFinalReceiptAndGoesToQuarantine() async throws {
        var settings = DaemonSettings()
        settings.limits.heldExpire = .seconds(7200)
        let g = try TwoGateways(settings: settings)
        _ = try g.prisonUnpinsPractice()
        guard case .claimed(let id) = try await g.drop("a.txt", [1, 2]) else {
            Issue.record("not claimed")
            return
        }
        _ = await g.practice.processOutgoing()
        await g.prison.collect()
        await g.practice.collect()
        #expect(try g.state(id) == .held)
        g.clock.advance(by: 7_199_000)
        #expect(await g.prison.upkeepHeld() == 0)
        g.clock.advance(by: 1000)
        #expect(await g.prison.upkeepHeld() == 1)
        let record = try #require(try g.prisonJournal().incoming(id))
        #expect(
            record.state == .rejected && record.reason?.hasPrefix("expired: held 2 h unopened") == true, "\(record)")
        #expect(g.list(g.prisonHome.path + "/spool/held").isEmpty)
        #expect(g.list(g.prisonHome.path + "/spool/quarantine/\(id)").contains("\(id).ghb"))
        // The final receipt follows the held one at once (the held one paid for both).
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .failed)
        #expect(try g.practiceRecord(id)?.lastError == "YOI123 refused the bundle: expired")
    }

    /// An insider floods the prison with bundles claiming to be A81001's, signed with its own key:
    /// the held area keeps at most `held_per_sender` of them, A81001 gets at most one receipt every
    /// 10 minutes, and when A81001's real card is added none of them verifies: each is refused
    /// with the normal reason, into quarantine.
    @Test func aFloodInAPartnersNameIsBoundedRateLimitedAndRefusedOnceTheRealCardIsAdded() async throws {
        var settings = DaemonSettings()
        settings.limits.heldPerSender = 3
        let g = try TwoGateways(settings: settings)
        let card = try g.prisonUnpinsPractice()
        let forger = TestOrganisation("A81001", label: "forger")
        var ids: [BundleID] = []
        for _ in 0..<5 {
            let (id, bytes) = try g.forged(by: forger, createdAt: UInt64(g.clock.now() / 1000))
            try g.put(bytes, in: "YOI123", as: "\(id.hex).ghb")
            ids.append(id)
        }
        #expect(await g.prison.collect() == 5)
        let journal = try g.prisonJournal()
        let states = try ids.map { try journal.incoming($0)?.state }
        #expect(states.filter { $0 == .held }.count == 3 && states.filter { $0 == .rejected }.count == 2, "\(states)")
        #expect(g.list(g.prisonHome.path + "/spool/held").count == 3)
        #expect(g.receipts(in: "A81001").count == 1)
        // One more held receipt each 10 minutes, not before.
        g.clock.advance(by: 599_000)
        await g.prison.upkeepHeld()
        #expect(g.receipts(in: "A81001").count == 1)
        g.clock.advance(by: 1000)
        await g.prison.upkeepHeld()
        #expect(g.receipts(in: "A81001").count == 2)
        // The real card: the forger's key is not in it. The bundles wait unknown_sender_hold for a
        // newer manifest, as any bundle signed by a key not on its sender's card, then are refused.
        try PartnerStore(home: g.prisonHome).add(card)
        #expect(await g.prison.upkeepHeld() == 0)
        g.clock.advance(by: 3_600_000)
        #expect(await g.prison.upkeepHeld() == 3)
        for id in ids {
            let record = try #require(try journal.incoming(id))
            #expect(record.state == .rejected && record.reason?.hasPrefix("unknown-sender") == true, "\(record)")
        }
        #expect(g.list(g.prisonHome.path + "/spool/held").isEmpty)
        #expect(g.list(g.prisonHome.path + "/spool/received").isEmpty)
        let quarantined = g.list(g.prisonHome.path + "/spool/quarantine")
        #expect(ids.allSatisfy { quarantined.contains($0.hex) }, "\(quarantined)")
    }
}
