import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import GatehouseNotify
import GatehouseTesting
import Testing

/// Where the engine emits notifications, on a clock the test moves: each event once, as often
/// as its kind allows, with the right partner, bundle and reason.
@Suite("Notifications: emission points in the engine")
struct NotifyEmissionTests {
    static func settings(patientData: Bool = false) -> NotifySettings {
        var settings = NotifySettings()
        settings.webhook = NotifySettings.Webhook(url: "http://127.0.0.1:9/never-sent")
        settings.includePatientData = patientData
        return settings
    }

    /// The events queued in `home`, oldest first.
    func queued(_ home: GatehouseHome) throws -> [NotifyEvent] {
        try NotifyQueue(folder: home.path + "/spool/notify", limit: 1000).all().map(\.event)
    }

    /// A bundle delivered and not acknowledged within `receipt_overdue` is announced once.
    @Test func anOverdueReceiptIsAnnouncedOncePerBundle() async throws {
        let g = try TwoGateways(notify: Self.settings())
        guard case .claimed(let id) = try await g.drop("summary.xml", Array("<r/>".utf8)) else {
            Issue.record("not claimed")
            return
        }
        _ = await g.practice.processOutgoing()
        await g.practice.maintainKeys()
        #expect(try queued(g.practiceHome).filter { $0.event == "receipt.overdue" }.isEmpty)
        g.clock.advance(by: 4 * 3_600_000 + 1000)
        await g.practice.maintainKeys()
        g.clock.advance(by: 120_000)
        await g.practice.maintainKeys()
        let overdue = try queued(g.practiceHome).filter { $0.event == "receipt.overdue" }
        #expect(overdue.count == 1)
        #expect(overdue.first?.bundle == id.hex && overdue.first?.partner?.ods == "YOI123")
        #expect(overdue.first?.reason == "no receipt from YOI123 4h after delivery" && overdue.first?.files == 1)
    }

    /// Own keys and partners' cards within `expiry_warning` of their expiry: once a day each.
    @Test func expiringKeysAndCardsAreAnnouncedOnceADay() async throws {
        let g = try TwoGateways(notify: Self.settings())
        let card = try KeyStore(home: g.practiceHome).loadOwnCard()
        await g.practice.maintainKeys()
        #expect(try queued(g.practiceHome).isEmpty)
        g.clock.advance(by: (Int64(card.expires) - 7 * 86_400) * 1000 - g.clock.now())
        await g.practice.maintainKeys()
        g.clock.advance(by: 120_000)
        await g.practice.maintainKeys()
        let first = try queued(g.practiceHome)
        let kinds = first.map(\.event)
        #expect(kinds.contains("key.expiring") && kinds.filter { $0 == "partner.expiring" }.count == 1, "\(kinds)")
        let partner = try #require(first.first { $0.event == "partner.expiring" })
        #expect(partner.partner == NotifyEvent.Partner(ods: "YOI123", name: "HMP Northgate Healthcare"))
        #expect(partner.expires != nil && partner.reason?.contains("no newer one has arrived") == true)
        g.clock.advance(by: 86_400_000)
        await g.practice.maintainKeys()
        #expect(try queued(g.practiceHome).count == 2 * first.count)
    }

    /// A bundle not acknowledged before its expiry is `delivery.expired`; without the opt-in no
    /// file name travels, with it the names and the full reason do.
    @Test func anExpiredBundleIsAnnouncedWithPatientDataOnlyWhenAskedFor() async throws {
        for patientData in [false, true] {
            var daemon = DaemonSettings()
            daemon.expiry = .seconds(60)
            let g = try TwoGateways(settings: daemon, notify: Self.settings(patientData: patientData))
            guard case .claimed(let id) = try await g.drop("Ada Testperson 9990000018.xml", Array("<r/>".utf8)) else {
                Issue.record("not claimed")
                return
            }
            _ = await g.practice.processOutgoing()
            g.clock.advance(by: 61_000)
            _ = await g.practice.processOutgoing()
            let expired = try #require(try queued(g.practiceHome).first { $0.event == "delivery.expired" })
            #expect(expired.bundle == id.hex && expired.reason == "not acknowledged by YOI123 within 1m")
            let text = String(decoding: expired.encoded(), as: UTF8.self)
            #expect(text.contains("9990000018") == patientData, "\(text)")
            #expect(expired.fileNames == (patientData ? ["Ada Testperson 9990000018.xml"] : nil))
        }
    }

    /// A published pack is `pack.received` at the receiver, with the sender's name from its card.
    @Test func aPublishedPackIsAnnouncedByTheReceiver() async throws {
        let g = try TwoGateways(notify: Self.settings())
        guard case .claimed(let id) = try await g.drop("summary.xml", Array("<r/>".utf8)) else {
            Issue.record("not claimed")
            return
        }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        let received = try queued(g.prisonHome)
        #expect(received.map(\.event) == ["pack.received"])
        #expect(received.first?.bundle == id.hex && received.first?.files == 1 && received.first?.workflow == "other")
        #expect(received.first?.partner == NotifyEvent.Partner(ods: "A81001", name: "Riverside Medical Practice"))
        #expect(received.first?.organisation == "YOI123")
    }

    /// A bundle from a sender whose card is not pinned is `pack.held` at the receiver, once,
    /// naming the claimed sender (no name: there is no card to take it from) and no patient data.
    @Test func aHeldPackIsAnnouncedOnceByTheReceiver() async throws {
        let g = try TwoGateways(notify: Self.settings())
        _ = try g.prisonUnpinsPractice()
        guard case .claimed(let id) = try await g.drop("summary.xml", Array("<r/>".utf8)) else {
            Issue.record("not claimed")
            return
        }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        #expect(await g.prison.collect() == 0)
        let held = try queued(g.prisonHome)
        #expect(held.map(\.event) == ["pack.held"])
        #expect(held.first?.bundle == id.hex && held.first?.reason == "unknown-sender")
        #expect(held.first?.partner?.ods == "A81001" && held.first?.organisation == "YOI123")
    }

    /// A partner that has not confirmed a revocation within `revocation_confirm_within` is
    /// announced, once (a day), naming the partner and the revoked key.
    @Test func anUnconfirmedRevocationIsAnnounced() async throws {
        var daemon = DaemonSettings()
        daemon.revocationConfirmWithin = .seconds(600)
        let g = try TwoGateways(settings: daemon, notify: Self.settings())
        // At the real time: the revocation is signed with it.
        g.clock.advance(by: Int64(Date().timeIntervalSince1970 * 1000) - g.clock.now() + 1000)
        await g.prison.maintainKeys()
        await g.practice.maintainKeys()
        _ = await g.prison.collect()
        _ = await g.practice.collect()
        _ = await g.prison.collect()
        let store = KeyStore(home: g.practiceHome)
        let compromised = try store.loadOwnCard().signingKeyID
        _ = try store.revoke(compromised, reason: .compromised, now: UInt64(g.clock.now() / 1000))
        // Sent to the prison, which does not collect it.
        for step: Int64 in [1000, 601_000, 61_000] {
            g.clock.advance(by: step)
            await g.practice.maintainKeys()
        }
        let events = try queued(g.practiceHome).filter { $0.event == "revocation.unconfirmed" }
        #expect(events.count == 1)
        #expect(events.first?.partner?.ods == "YOI123" && events.first?.reason?.contains(compromised.hex) == true)
    }
}
