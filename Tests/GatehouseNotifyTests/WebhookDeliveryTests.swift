import Foundation
import GatehouseCrypto
import GatehouseKit
@testable import GatehouseNotify
import GatehouseTesting
import Testing

/// Events reach a real HTTP receiver on 127.0.0.1, with retries, a durable and bounded queue.
@Suite struct WebhookDeliveryTests {
    @Test func postsTheEventAsJSONWithItsKindAndId() async throws {
        let receiver = try WebhookReceiver()
        let fixture = try NotifierFixture(webhookSettings(receiver.url()))
        let event = fixture.failure()
        fixture.notifier.emit(event)
        #expect(await fixture.notifier.drain() == nil)
        let request = try #require(receiver.requests.first)
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["x-gatehouse-event"] == "delivery.failed")
        #expect(request.headers["x-gatehouse-delivery"] == event.id)
        #expect(request.headers["x-gatehouse-signature"] == nil)
        let json = try #require(receiver.events.first)
        #expect(json["version"] as? Int == 1 && json["event"] as? String == "delivery.failed")
        #expect(json["time"] as? String == "2026-11-18T11:06:40Z" && json["organisation"] as? String == "A81001")
        #expect((json["partner"] as? [String: String]) == ["ods": "YOI123", "name": "HMP Northgate Healthcare"])
        #expect(json["bundle"] as? String == event.bundle && json["files"] as? Int == 3)
        #expect(json["reason"] as? String == "refused by YOI123: unknown-sender")
        #expect(fixture.auditLines == ["notify-sent webhook delivery.failed \(event.id)"])
    }

    /// With a secret file, the receiver can check the body came from this gateway.
    @Test func signsTheBodyWithTheSharedSecret() async throws {
        let receiver = try WebhookReceiver()
        var settings = webhookSettings(receiver.url())
        let secrets = try TemporaryDirectory()
        let secret = try secrets.write("webhook.secret", Array("correct horse battery staple\n".utf8))
        chmod(secret, 0o600)
        settings.webhook?.secretFile = secret
        let fixture = try NotifierFixture(settings)
        fixture.notifier.emit(fixture.failure())
        _ = await fixture.notifier.drain()
        let request = try #require(receiver.requests.first)
        let key = SecretBytes(copying: Array("correct horse battery staple".utf8))
        let tag = HMAC.authenticate(request.body, key: key, hash: .sha256)
        #expect(request.headers["x-gatehouse-signature"] == "sha256=" + tag.hexString)
        // RFC 4231 test case 2, so a receiver in any language computes the same.
        let jefe = SecretBytes(copying: Array("Jefe".utf8))
        #expect(HMAC.authenticate(Array("what do ya want for nothing?".utf8), key: jefe, hash: .sha256).hexString
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// A secret others can read is no secret: nothing is sent until it is fixed.
    @Test func refusesASecretFileOthersCanRead() async throws {
        let receiver = try WebhookReceiver()
        var settings = webhookSettings(receiver.url())
        let secrets = try TemporaryDirectory()
        let secret = try secrets.write("webhook.secret", Array("s3cret".utf8))
        chmod(secret, 0o644)
        settings.webhook?.secretFile = secret
        let fixture = try NotifierFixture(settings)
        fixture.notifier.emit(fixture.failure())
        _ = await fixture.notifier.drain()
        #expect(receiver.requests.isEmpty)
        #expect(fixture.auditLines.first?.hasSuffix("invalid-target") == true)
    }

    @Test func retriesAfterTheReceiverFails() async throws {
        let receiver = try WebhookReceiver(mode: "fail:1")
        let fixture = try NotifierFixture(webhookSettings(receiver.url()))
        let event = fixture.failure()
        fixture.notifier.emit(event)
        let next = try #require(await fixture.notifier.drain())
        #expect(next == fixture.time.withLock { $0 } + 1000)
        // Not due yet: nothing is sent.
        _ = await fixture.notifier.drain()
        #expect(receiver.requests.count == 1)
        fixture.advance(seconds: 1)
        #expect(await fixture.notifier.drain() == nil)
        #expect(receiver.requests.count == 2)
        // The same event, the same id: the receiver can tell a retry from a new event.
        #expect(receiver.events.map { $0["id"] as? String } == [event.id, event.id])
        #expect(fixture.auditLines == ["notify-failed webhook delivery.failed \(event.id): rejected",
                                       "notify-sent webhook delivery.failed \(event.id)"])
    }

    /// Events queued before a restart are sent by the next daemon.
    @Test func theQueueSurvivesARestart() async throws {
        let receiver = try WebhookReceiver()
        let first = try NotifierFixture(webhookSettings(receiver.url()))
        let event = first.failure()
        first.notifier.emit(event)
        let second = try NotifierFixture(webhookSettings(receiver.url()), folder: first.folder)
        _ = await second.notifier.drain()
        #expect(receiver.events.map { $0["id"] as? String } == [event.id])
    }

    /// A full queue drops its oldest event, with an audit line, and keeps the newest.
    @Test func aFullQueueDropsTheOldest() async throws {
        let receiver = try WebhookReceiver()
        var settings = webhookSettings(receiver.url())
        settings.queueMax = 2
        let fixture = try NotifierFixture(settings)
        let events = (0..<3).map { _ in fixture.failure() }
        for event in events {
            fixture.notifier.emit(event)
            fixture.advance(seconds: 1)
        }
        let dropped = "notify-dropped webhook delivery.failed \(events[0].id): the queue is full (queue_max 2)"
        #expect(fixture.auditLines == [dropped])
        _ = await fixture.notifier.drain()
        #expect(receiver.events.map { $0["id"] as? String } == [events[1].id, events[2].id])
    }

    /// An event that cannot be sent within max_age is dropped, audited, and not retried again.
    @Test func anEventPastMaxAgeIsDropped() async throws {
        let fixture = try NotifierFixture(webhookSettings("http://127.0.0.1:\(try SSHServer.freePort())/hook"))
        let event = fixture.failure()
        fixture.notifier.emit(event)
        _ = await fixture.notifier.drain()
        fixture.advance(seconds: 24 * 3600 + 1)
        #expect(await fixture.notifier.drain() == nil)
        #expect(fixture.auditLines == ["notify-failed webhook delivery.failed \(event.id): unreachable",
                                       "notify-dropped webhook delivery.failed \(event.id): "
                                           + "not sent within max_age 1d"])
    }

    /// Only the events a target takes are queued for it.
    @Test func theEventFilterDecidesWhatGoesWhere() async throws {
        let receiver = try WebhookReceiver()
        var settings = webhookSettings(receiver.url())
        settings.webhook?.events = ["delivery.expired"]
        let fixture = try NotifierFixture(settings)
        fixture.notifier.emit(fixture.failure())
        var expired = fixture.notifier.event("delivery.expired")
        expired.bundle = "cd"
        fixture.notifier.emit(expired)
        _ = await fixture.notifier.drain()
        #expect(receiver.events.map { $0["event"] as? String } == ["delivery.expired"])
    }
}
