import Foundation
import GatehouseFormat
import GatehouseKit
@testable import GatehouseNotify
import GatehouseTesting
import Logging
import Synchronization

/// A notifier over a temporary queue, on a clock the test moves, recording its audit lines.
final class NotifierFixture: Sendable {
    let folder: TemporaryDirectory
    let time = Locked<Int64>(1_795_000_000_000)
    let audited = Locked<[AuditEvent]>([])
    let notifier: Notifier

    init(_ settings: NotifySettings, folder existing: TemporaryDirectory? = nil) throws {
        folder = try existing ?? TemporaryDirectory(prefix: "gatehouse-notify")
        let time = self.time, audited = self.audited
        notifier = try Notifier(settings: settings, organisation: try ODSCode("A81001"),
                                folder: folder.appending("queue"),
                                logger: Logger(label: "test"), clock: { time.withLock { $0 } }) { event in
            audited.withLock { $0.append(event) }
        }
    }

    /// The audit lines so far, as `event detail`.
    var auditLines: [String] { audited.withLock { $0.map { "\($0.event) \($0.detail ?? "")" } } }

    func advance(seconds: Int64) { time.withLock { $0 += seconds * 1000 } }

    /// A `delivery.failed` event about bundle `bundle` for partner YOI123.
    func failure(bundle: String = String(repeating: "ab", count: 16), partnerName: String = "HMP Northgate Healthcare",
                 reason: String = "refused by YOI123: unknown-sender") -> NotifyEvent {
        var event = notifier.event("delivery.failed")
        event.partner = NotifyEvent.Partner(ods: "YOI123", name: partnerName)
        event.bundle = bundle
        event.reason = reason
        event.files = 3
        event.workflow = "reception-summary"
        return event
    }
}

/// Settings with a webhook to `url` (1 s timeouts) and no command.
func webhookSettings(_ url: String, caFile: String? = nil) -> NotifySettings {
    var settings = NotifySettings()
    settings.webhook = NotifySettings.Webhook(url: url, timeout: .seconds(1), caFile: caFile)
    return settings
}

/// A value behind a lock, shared by reference.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
