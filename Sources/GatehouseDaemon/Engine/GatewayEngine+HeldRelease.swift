import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// How held bundles leave `spool/held/` (see GatewayEngine+Held.swift): opened once their
/// sender's card is added, refused once held for `[limits] held_expire`.
///
/// The daemon learns of a new card by looking: about every second (the delivery loop's beat,
/// which also sends key manifests to partners just added; and at start) it checks, for each
/// claimed sender with a held bundle, whether `partners/ODS.card` now exists or the directory
/// this gateway follows now lists it (DIRECTORY.md; after a `network sync`). That needs no
/// signal from `gatehouse partners add`, works for a card added while the daemon was stopped,
/// and costs one card look-up per held sender per beat (nothing when nothing is held).
extension GatewayEngine {
    /// Looks at every held bundle, about once a second: opens those whose sender's card has
    /// been added, refuses those held longer than `[limits] held_expire`, and sends the `held`
    /// receipts the 10-minute rule held back. Returns how many bundles left the held area. With a
    /// shared journal, only the node holding the spool lease does it.
    @discardableResult
    public func upkeepHeld() async -> Int {
        // Once per organisation: with a shared journal, on the node holding its spool lease (the
        // one collecting): two nodes opening the same held bundle would publish it twice.
        guard holdsSpoolLeaseNow else { return 0 }
        await sendUnsentHeldReceipts()
        let items = loadedHeldIndex().items
        guard !items.isEmpty else { return 0 }
        let now = clock.now()
        var pinned: [ODSCode: Bool] = [:]
        var done = 0
        for item in items {
            if let until = held.retryAt[item.id], until > now { continue }
            if now - item.heldAt >= RetryPolicy.milliseconds(settings.limits.heldExpire) {
                if await expireHeld(item) { done += 1 }
                continue
            }
            let isPinned = pinned[item.sender]
                ?? ((try? gateway.partners.resolvedCard(for: item.sender)) != nil)
            pinned[item.sender] = isPinned
            if isPinned {
                if await releaseHeld(item) { done += 1 }
            } else if !item.answered {
                await answerHeldLater(item, at: now)
            }
        }
        return done
    }

    /// Sends a `held` receipt the 10-minute rule held back, once the rule allows.
    private func answerHeldLater(_ item: HeldIndex.Item, at now: Int64) async {
        let sender = item.sender, id = item.id
        guard mayAnswerUnproven(sender, at: now), let record = try? journal.incoming(id), record.state == .held
        else { return }
        do { try await answer(record, id: id) } catch {
            logFailureOnce("held-answer-\(item.id)", "sending the held receipt to \(sender) failed: \(error)",
                           bundle: item.id)
        }
    }

    /// Opens a held bundle under its sender's newly added card: published, or refused with the
    /// normal reason; then its final receipt goes out. Returns false when it stays held.
    private func releaseHeld(_ item: HeldIndex.Item) async -> Bool {
        let id = item.id
        let now = clock.now()
        // A key the new card does not name waits like any other (`unknown_sender_hold`), then
        // is refused: anyone can invent a key id.
        let hold = RetryPolicy.milliseconds(settings.limits.unknownSenderHold)
        let waited = held.keyWaitSince[item.id].map { now - $0 >= hold } ?? false
        do {
            let (record, context) = try await process(heldBundle(item.id), id: id, waitForKeys: !waited)
            let detail = record.reason ?? "published: \(item.sender)'s card was added"
            guard try journal.resolveHeld(record, detail: detail, context: context) else {
                forgetHeld(item.id)
                return false
            }
            log(.info, "opened the held bundle: \(item.sender)'s card has been added", bundle: item.id,
                partner: item.sender, state: record.state.rawValue)
            await finishHeld(item, record: record, id: id)
            return true
        } catch let error as DeferredItem {
            if held.keyWaitSince[item.id] == nil {
                held.keyWaitSince[item.id] = now
                log(.warning, "the held bundle waits for a newer key manifest: \(error.description)", bundle: item.id,
                    partner: item.sender)
            }
            // Looked at again every 30 s (sooner when the hold is shorter), and at once when a newer
            // manifest of the sender is accepted.
            held.retryAt[item.id] = now + min(30_000, max(1000, hold))
            return false
        } catch {
            logFailureOnce("held-\(item.id)", "opening the held bundle failed: \(error)", bundle: item.id)
            held.retryAt[item.id] = now + 5_000
            return false
        }
    }

    /// Refuses a bundle held longer than `[limits] held_expire`: its bytes go to quarantine
    /// (group `unverified`, bounded as every refusal) and a `failed` (expired) receipt follows
    /// its `held` one.
    private func expireHeld(_ item: HeldIndex.Item) async -> Bool {
        let id = item.id
        do {
            guard let stored = try journal.incoming(item.id), stored.state == .held,
                  let digest = [UInt8](hex: stored.bundleSHA256).flatMap(SHA256Digest.init(bytes:)) else {
                forgetHeld(item.id)
                return false
            }
            let hours = (clock.now() - item.heldAt) / 3_600_000
            let detail = "held \(hours) h unopened: \(item.sender)'s card was not added within [limits] held_expire "
                + "(\(settings.limits.heldExpire))"
            let record = try reject(heldBundle(item.id), id: id, sender: item.sender, digest: digest, reason: .expired,
                                    detail: detail, at: clock.now())
            guard try journal.resolveHeld(record, detail: record.reason) else {
                forgetHeld(item.id)
                return false
            }
            await finishHeld(item, record: record, id: id)
            return true
        } catch {
            logFailureOnce("held-\(item.id)", "expiring the held bundle failed: \(error)", bundle: item.id)
            held.retryAt[item.id] = clock.now() + 5_000
            return false
        }
    }

    /// After a held bundle's outcome is journalled: audit, evidence, the held copy goes, and the
    /// final receipt is sent. A bundle whose `held` receipt went out gets its final one without
    /// waiting for the 10-minute rule (one allowance per bundle); one never answered is answered
    /// as any bundle is (a sender still not pinned then gets nothing).
    private func finishHeld(_ item: HeldIndex.Item, record: IncomingRecord, id: BundleID) async {
        audit(AuditEvent(record.state == .published ? "bundle-received" : "bundle-rejected", org: record.sender,
                         bundle: id, sha256: record.bundleSHA256, detail: Self.category(record.reason)))
        try? keepEvidence(bundle: record.state == .published ? heldBundle(item.id) : nil, receipt: record.receipt,
                          id: id.hex, direction: "in")
        removeTree(heldFolder(item.id))
        forgetHeld(item.id)
        let sender = item.sender
        let pinned = (try? gateway.partners.resolvedCard(for: sender)) != nil
        do {
            if item.answered {
                try await sendReceipt(record.receipt, for: id, to: sender, via: pinned ? nil : own.org)
                auditReceiptSent(record, id: id)
            } else if pinned {
                try await answer(record, id: id)
            }
        } catch {
            held.unsent[id] = HeldWork.UnsentReceipt(receipt: record.receipt, sender: item.sender,
                                                         viaOwnServer: !pinned)
            log(.warning, "sending the receipt for the held bundle failed, trying again: \(error)", bundle: id,
                partner: item.sender)
        }
    }

    private func sendUnsentHeldReceipts() async {
        for (id, unsent) in held.unsent {
            do {
                try await sendReceipt(unsent.receipt, for: id, to: unsent.sender,
                                      via: unsent.viaOwnServer ? own.org : nil)
                held.unsent[id] = nil
            } catch {
                logFailureOnce("held-unsent-\(id)", "sending the receipt for the held bundle failed: \(error)",
                               bundle: id)
            }
        }
    }
}
