import Foundation
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseNotify

/// The emission points of `[notify]` (docs/NOTIFY.md): each place in the engine that a person
/// must hear about calls one of these, in one line. They build the event from what the journal
/// and the partner store hold and hand it to the ``Notifier``, which queues it and never waits
/// on a receiver. Patient data (subject, NHS numbers, file names, full reasons) is added here and
/// removed by the notifier unless `include_patient_data` is set.
extension GatewayEngine {
    /// A verified pack was published (`pack.received`).
    func notifyReceived(_ record: IncomingRecord, context: PackContext?) {
        // Nothing is looked up (cards, journal) when no target is set.
        guard notifier.settings.isEnabled else { return }
        var event = newEvent("pack.received", partner: record.sender, bundle: record.bundleID)
        let parsed = record.files.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
        let files = parsed as? [[String: String]] ?? []
        event.files = files.count
        event.fileNames = files.compactMap { $0["name"] }
        event.workflow = context?.workflow.value
        event.subject = context?.subject
        event.nhsNumbers = context?.nhsNumbers
        notifier.emit(event)
    }

    /// A bundle from `sender` is held (`pack.held`), e.g. `reason` "unknown-sender": the sender's
    /// card is not pinned here. `sender` is what the bundle claims until its card is added.
    func notifyHeld(bundle: BundleID, sender: ODSCode?, reason: String) {
        guard notifier.settings.isEnabled else { return }
        var event = newEvent("pack.held", partner: sender, bundle: bundle)
        event.reason = reason
        notifier.emit(event)
    }

    /// An outgoing bundle failed (`delivery.failed`): its reason comes from the partner's signed
    /// receipt when there is one (a closed list), else says the originals are in `spool/failed/`.
    func notifyFailed(_ record: OutgoingRecord, detail: String) {
        guard notifier.settings.isEnabled else { return }
        var event = outgoingEvent("delivery.failed", record)
        switch (try? Receipt.parse(record.receipt ?? []))?.disposition {
        case .failed(let reason)?: event.reason = "refused by \(record.partner): \(reason)"
        case .processed?: event.reason = "\(record.partner) processed other bytes than those sent"
        case .held(let reason)?: event.reason = "held by \(record.partner) (\(reason)) and never opened"
        case nil: event.reason = "not sent: the originals are in spool/failed/\(record.bundleID)/ with reason.txt"
        }
        event.detail = detail
        notifier.emit(event)
    }

    /// An outgoing bundle expired unacknowledged (`delivery.expired`).
    func notifyExpired(_ record: OutgoingRecord, detail: String) {
        guard notifier.settings.isEnabled else { return }
        var event = outgoingEvent("delivery.expired", record)
        event.reason = "not acknowledged by \(record.partner) within \(GatehouseConfig.describe(settings.expiry))"
        event.detail = detail
        notifier.emit(event)
    }

    /// A partner has not confirmed a manifest revoking one of the own keys
    /// (`revocation.unconfirmed`): at most once a day per partner and manifest version.
    func notifyUnconfirmedRevocation(_ warning: KeyWarnings.Warning, now: Int64) {
        guard notifier.settings.isEnabled else { return }
        var event = newEvent("revocation.unconfirmed", partner: warning.partner, bundle: nil)
        event.reason = warning.message
        notifier.emitOnce(event, key: "\(warning.key):\(now / 86_400_000)")
    }

    /// Time-driven events, at most once a minute: delivered bundles with no receipt after
    /// `receipt_overdue` (once per bundle), own keys and partners' cards expiring within
    /// `expiry_warning` (once a day each).
    func notifyOverdueAndExpiring(own card: IdentityCard, partners: [IdentityCard], now: Int64) {
        guard notifier.settings.isEnabled, now >= nextNotifyCheck else { return }
        nextNotifyCheck = now + 60_000
        let overdue = RetryPolicy.milliseconds(notifier.settings.receiptOverdue)
        for record in (try? journal.outgoing(in: [.delivered])) ?? [] where now - record.updatedAt >= overdue {
            var event = outgoingEvent("receipt.overdue", record)
            let age = GatehouseConfig.describe(notifier.settings.receiptOverdue)
            event.reason = "no receipt from \(record.partner) \(age) after delivery"
            notifier.emitOnce(event, key: "receipt.overdue:\(record.bundleID)")
        }
        let seconds = UInt64(max(0, now / 1000)), day = now / 86_400_000
        let window = UInt64(max(0, notifier.settings.expiryWarning.components.seconds))
        var items: [(key: String, what: String, expires: UInt64)] = [
            ("own-manifest", "\(card.org)'s key manifest", card.expires),
        ]
        for record in [card.manifest.currentSigning, card.manifest.currentEncryption] {
            if case .current(let until) = record.state {
                items.append(("key-\(record.id.hex)", "\(record.key.role) key \(record.id)", until))
            }
        }
        for item in items where item.expires <= seconds + window {
            var event = newEvent("key.expiring", partner: nil, bundle: nil)
            event.expires = RFC3339.format(item.expires)
            let state = item.expires <= seconds ? "has expired" : "expires soon"
            event.reason = "\(item.what) \(state): run `gatehouse keys rotate`"
            notifier.emitOnce(event, key: "key.expiring:\(item.key):\(item.expires):\(day)")
        }
        for partner in partners where partner.org != card.org && partner.expires <= seconds + window {
            var event = newEvent("partner.expiring", partner: partner.org, bundle: nil)
            event.expires = RFC3339.format(partner.expires)
            event.reason = "\(partner.org)'s key manifest version \(partner.manifest.version) "
                + "\(partner.expires <= seconds ? "has expired" : "expires soon") and no newer one has arrived"
            notifier.emitOnce(event, key: "partner.expiring:\(partner.org.value):\(partner.manifest.version):\(day)")
        }
    }

    private func outgoingEvent(_ kind: String, _ record: OutgoingRecord) -> NotifyEvent {
        var event = newEvent(kind, partner: record.partner, bundle: record.bundleID)
        let files = (try? journal.files(of: record.bundleID)) ?? []
        event.files = files.count
        event.fileNames = files.map(\.name)
        if let pack = try? journal.pack(of: record.bundleID, direction: "out") {
            event.workflow = pack.context.workflow.value
            event.subject = pack.context.subject
            event.nhsNumbers = pack.context.nhsNumbers
        }
        return event
    }

    private func newEvent(_ kind: String, partner: ODSCode?, bundle: BundleID?) -> NotifyEvent {
        var event = notifier.event(kind)
        if let partner {
            let name = (try? gateway.partners.resolvedCard(for: partner))?.name
            event.partner = NotifyEvent.Partner(ods: partner.value, name: name)
        }
        event.bundle = bundle?.hex
        return event
    }
}
