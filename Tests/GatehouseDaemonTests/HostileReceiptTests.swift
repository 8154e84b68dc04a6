import Foundation
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

/// An insider: organisation Q12345, pinned by the practice, that writes into the practice's
/// mailbox whatever it likes (what a relay that does not enforce name ownership would allow).
struct Insider {
    let home: GatehouseHome
    let card: IdentityCard

    init(in g: TwoGateways) throws {
        home = GatehouseHome(path: g.folder.appending("insider"))
        card = try KeyStore(home: home).initialise(org: ODSCode("Q12345"), name: "Quayside Test Clinic")
        try PartnerStore(home: g.practiceHome).add(card)
    }

    /// A receipt signed with the insider's real key, claiming to be `receiver`'s.
    func forgeReceipt(for id: BundleID, receiver: String, digest: SHA256Digest, disposition: ReceiptDisposition) throws -> [UInt8] {
        try Receipt.signed(bundleID: id, bundleSender: ODSCode("A81001"), receiver: ODSCode(receiver),
                           bundleSHA256: digest, receivedAt: UInt64(Date().timeIntervalSince1970), disposition: disposition,
                           manifestSHA256: disposition == .processed ? SHA256Hasher.hash([1]) : nil, fileDigests: [],
                           signingKey: KeyStore(home: home).loadSigningKey()).encoded
    }
}

extension TwoGateways {
    func put(_ bytes: [UInt8], in mailbox: String, as name: String) throws {
        try FileManager.default.createDirectory(atPath: "\(mailboxRoot)/\(mailbox)", withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(mailboxRoot)/\(mailbox)/\(name)"))
    }

    func auditEvents(_ home: GatehouseHome) -> [String] {
        String(decoding: read(home.path + "/audit/audit.jsonl") ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The practice's bundle `id` as sealed: its digest.
    func sentDigest(_ id: BundleID) throws -> SHA256Digest {
        let record = try #require(try SQLiteJournal(path: practiceHome.path + "/journal.sqlite").outgoing(id))
        return try #require(record.bundleSHA256.flatMap { [UInt8](hex: $0) }.flatMap(SHA256Digest.init(bytes:)))
    }
}

@Suite("Receipts: only the addressee's signature counts")
struct HostileReceiptTests {
    /// Issue 13, vulnerability 1: organisation Q12345 signs, with its own pinned key, receipts
    /// claiming to be YOI123's, for the practice's bundle to YOI123. Neither a `processed` one
    /// (which acknowledged the bundle and released the originals) nor a `failed` one (which failed
    /// it, so the genuine receipt was then ignored) may change anything; the genuine receipt then
    /// acknowledges.
    @Test(arguments: ["Q12345", "YOI123"])
    func forgedReceiptsByAnotherPinnedPartnerChangeNothing(nameClaims: String) async throws {
        let g = try TwoGateways()
        let insider = try Insider(in: g)
        guard case .claimed(let id) = try await g.drop("summary.xml", Array("<summary nhs=\"9990000018\"/>".utf8)) else {
            Issue.record("not claimed"); return
        }
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        let digest = try g.sentDigest(id)
        for disposition in [ReceiptDisposition.processed, .failed(.authenticationFailed)] {
            let forged = try insider.forgeReceipt(for: id, receiver: "YOI123", digest: digest, disposition: disposition)
            try g.put(forged, in: "A81001", as: "\(id).\(nameClaims).ghr")
            #expect(await g.practice.collect() == 1)
            #expect(try g.state(id) == .delivered, "a forged \(disposition) receipt changed the bundle's state")
            #expect(g.list(g.mailboxRoot + "/A81001").isEmpty)
        }
        // Quarantined with the reason, audited; the originals stay where they were.
        let quarantined = g.list(g.practiceHome.path + "/spool/quarantine").filter { $0.hasPrefix("receipt-") }
        #expect(quarantined.count == 2)
        for folder in quarantined {
            let reason = String(decoding: g.read("\(g.practiceHome.path)/spool/quarantine/\(folder)/reason.txt") ?? [], as: UTF8.self)
            #expect(reason.contains("RECEIPT REFUSED") && reason.contains("YOI123"), "\(reason)")
        }
        #expect(g.auditEvents(g.practiceHome).filter { $0.contains("\"receipt-rejected\"") }.count == 2)
        #expect(g.list(g.practiceHome.path + "/spool/work/out/\(id)") == ["summary.xml"])
        #expect(try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").outgoing(id)?.receipt == nil)
        // The genuine receipt still counts.
        #expect(await g.prison.collect() == 1)
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .acknowledged)
    }

    /// A receipt naming the insider as receiver (its own honest receipt for a bundle it never got)
    /// is not the addressee's either.
    @Test func aReceiptFromAnOrganisationTheBundleWasNotAddressedToIsRefused() async throws {
        let g = try TwoGateways()
        let insider = try Insider(in: g)
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        let receipt = try insider.forgeReceipt(for: id, receiver: "Q12345", digest: try g.sentDigest(id), disposition: .processed)
        try g.put(receipt, in: "A81001", as: "\(id).Q12345.ghr")
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .delivered)
        let folder = try #require(g.list(g.practiceHome.path + "/spool/quarantine").first { $0.hasPrefix("receipt-") })
        let reason = String(decoding: g.read("\(g.practiceHome.path)/spool/quarantine/\(folder)/reason.txt") ?? [], as: UTF8.self)
        #expect(reason.contains("claims to be from Q12345, but \(id) was addressed to YOI123"), "\(reason)")
    }

    /// A receipt dated before its bundle was made is refused: judged at its own date, one
    /// backdated to before a key's revocation would pass under the revoked key.
    @Test func aReceiptDatedBeforeItsBundleIsRefused() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        let backdated = try Receipt.signed(
            bundleID: id, bundleSender: ODSCode("A81001"), receiver: ODSCode("YOI123"), bundleSHA256: try g.sentDigest(id),
            receivedAt: UInt64(g.clock.now() / 1000) - 3600, disposition: .processed, manifestSHA256: SHA256Hasher.hash([1]),
            fileDigests: [], signingKey: KeyStore(home: g.prisonHome).loadSigningKey())
        try g.put(backdated.encoded, in: "A81001", as: "\(id).YOI123.ghr")
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .delivered)
        let folder = try #require(g.list(g.practiceHome.path + "/spool/quarantine").first { $0.hasPrefix("receipt-") })
        let reason = String(decoding: g.read("\(g.practiceHome.path)/spool/quarantine/\(folder)/reason.txt") ?? [], as: UTF8.self)
        #expect(reason.contains("before bundle \(id) was made"), "\(reason)")
    }

    /// A receipt with a key id nobody has waits for a newer manifest, but not for ever: after
    /// `unknown_sender_hold` it goes to quarantine (a forger can invent key ids without end).
    @Test func aReceiptWithAnInventedKeyIDWaitsOnlyForTheHoldTime() async throws {
        var settings = DaemonSettings()
        settings.limits.unknownSenderHold = .seconds(60)
        let g = try TwoGateways(settings: settings)
        guard case .claimed(let id) = try await g.drop("a.txt", [1]) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        var forged = try Insider(in: g).forgeReceipt(for: id, receiver: "YOI123", digest: try g.sentDigest(id), disposition: .processed)
        // key id: bytes 8+16+2*(1+6) = 38 ..< 46 for two 6-letter ODS codes.
        forged[40] ^= 0xFF
        try g.put(forged, in: "A81001", as: "\(id).YOI123.ghr")
        #expect(await g.practice.collect() == 0)
        #expect(g.list(g.mailboxRoot + "/A81001") == ["\(id).YOI123.ghr"])
        g.clock.advance(by: 61_000)
        #expect(await g.practice.collect() == 1)
        #expect(g.list(g.mailboxRoot + "/A81001").isEmpty)
        #expect(try g.state(id) == .delivered)
        #expect(g.list(g.practiceHome.path + "/spool/quarantine").contains { $0.hasPrefix("receipt-") })
    }
}

@Suite("Key manifests: resent until the partner's signed receipt confirms them")
struct ManifestConfirmationTests {
    /// Issue 13, vulnerability 2(b): a revocation deleted from the partner's mailbox before it
    /// was collected is put back, because only the partner's signed receipt counts as delivery;
    /// until then, and past `revocation_confirm_within`, the owner is warned.
    @Test func aDeletedRevocationIsSentAgainUntilThePartnerConfirmsIt() async throws {
        var settings = DaemonSettings()
        settings.manifestResend = .seconds(120)
        settings.revocationConfirmWithin = .seconds(600)
        let g = try TwoGateways(settings: settings)
        // The engines' clock at the real time: the revocation is signed with it.
        g.clock.advance(by: Int64(Date().timeIntervalSince1970 * 1000) - g.clock.now() + 1000)
        let ledger = ManifestLedger(home: g.practiceHome)
        let yoi = try ODSCode("YOI123")
        await g.prison.maintainKeys()
        await g.practice.maintainKeys()
        // Version 1 went out at start (the pair pinned each other's cards by hand) and is confirmed.
        #expect(await g.prison.collect() == 1)
        #expect(await g.practice.collect() == 2)
        #expect(await g.prison.collect() == 1)
        #expect(ledger.delivery(to: yoi).confirmed == 1)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)

        let store = KeyStore(home: g.practiceHome)
        let compromised = try store.loadOwnCard().signingKeyID
        let change = try store.revoke(compromised, reason: .compromised, now: UInt64(g.clock.now() / 1000))
        #expect(change.card.manifest.version == 2)
        g.clock.advance(by: 1000)
        await g.practice.maintainKeys()
        let name = "A81001.2.ghk"
        #expect(g.list(g.mailboxRoot + "/YOI123") == [name])
        #expect(ledger.delivery(to: yoi).confirmed == 1)
        // The relay insider deletes it before the prison collects.
        try FileManager.default.removeItem(atPath: g.mailboxRoot + "/YOI123/\(name)")
        g.clock.advance(by: 60_000)
        await g.practice.maintainKeys()
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty, "sent again before manifest_resend")
        g.clock.advance(by: 61_000)
        await g.practice.maintainKeys()
        #expect(g.list(g.mailboxRoot + "/YOI123") == [name], "not sent again after manifest_resend")
        try FileManager.default.removeItem(atPath: g.mailboxRoot + "/YOI123/\(name)")

        // Past revocation_confirm_within: a warning naming the partner and the revoked key.
        func warnings() throws -> [KeyWarnings.Warning] {
            KeyWarnings.unconfirmedRevocations(own: try store.loadOwnCard(), partners: [yoi], ledger: ledger,
                                               within: settings.revocationConfirmWithin, now: UInt64(g.clock.now() / 1000))
        }
        #expect(try warnings().isEmpty)
        g.clock.advance(by: 600_000)
        let warning = try #require(try warnings().first)
        #expect(warning.message.contains("YOI123") && warning.message.contains(compromised.hex), "\(warning.message)")
        // The same warning in /healthz (which stays healthy) and in gatehouse doctor.
        let health = HealthCheck(spool: SpoolLayout(home: g.practiceHome), journal: try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite"),
                                 expiry: .seconds(86_400), clock: g.clock, home: g.practiceHome, confirmWithin: settings.revocationConfirmWithin)
        #expect(health.warnings() == [warning.message])
        let doctor = await HomeDoctor(home: g.practiceHome, timeout: .seconds(1), now: UInt64(g.clock.now() / 1000) + 3600).run()
        #expect(doctor.contains { $0.level == .warning && $0.message.contains("has not confirmed") && $0.message.contains(compromised.hex) },
                "\(doctor)")

        // Sent again; the prison takes it and answers; the practice records the confirmation.
        await g.practice.maintainKeys()
        #expect(g.list(g.mailboxRoot + "/YOI123") == [name])
        #expect(await g.prison.collect() == 1)
        #expect(try PartnerStore(home: g.prisonHome).requireCard(for: ODSCode("A81001")).manifest.version == 2)
        #expect(await g.practice.collect() == 1)
        #expect(ledger.delivery(to: yoi).confirmed == 2)
        #expect(ledger.delivery(to: yoi).confirmedRevoked == [compromised.hex])
        #expect(try warnings().isEmpty)
        #expect(g.auditEvents(g.practiceHome).contains { $0.contains("\"manifest-confirmed\"") && $0.contains("version 2") })
        // Confirmed: never sent again.
        g.clock.advance(by: 3_600_000)
        await g.practice.maintainKeys()
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
    }

    /// A replayed older manifest is refused by the partner, which says so in a signed `failed`
    /// receipt; the owner records the refusal and the confirmation it holds stays.
    @Test func aPartnersRefusalIsRecordedAndConfirmsNothing() async throws {
        let g = try TwoGateways()
        g.clock.advance(by: Int64(Date().timeIntervalSince1970 * 1000) - g.clock.now() + 1000)
        let ledger = ManifestLedger(home: g.practiceHome)
        let yoi = try ODSCode("YOI123")
        let version1 = try KeyStore(home: g.practiceHome).loadOwnCard().text
        _ = try KeyStore(home: g.practiceHome).rotate(grace: 3600, now: UInt64(g.clock.now() / 1000))
        await g.practice.maintainKeys()
        #expect(await g.prison.collect() == 1)
        #expect(await g.practice.collect() == 1)
        #expect(ledger.delivery(to: yoi).confirmed == 2)
        // Version 1 again (its receipt names an id the ledger knows from no sending: quarantined).
        try g.put(Array(version1.utf8), in: "YOI123", as: "A81001.1.ghk")
        #expect(await g.prison.collect() == 1)
        #expect(try PartnerStore(home: g.prisonHome).requireCard(for: ODSCode("A81001")).manifest.version == 2)
        #expect(await g.practice.collect() == 1)
        #expect(ledger.delivery(to: yoi).confirmed == 2)
    }
}
