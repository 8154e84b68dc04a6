import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// Bundles from an organisation not pinned here are held, not refused (FORMAT.md §4.1): kept
/// unopened in `spool/held/<bundle id>/`, answered with a signed `held` receipt, opened as soon
/// as the sender's card is added (checked once a collector round, about every second, and at
/// start), refused as expired after `[limits] held_expire`.
extension GatewayEngine {
    /// True when the bundle with `header` is to be held: its claimed sender is neither this
    /// organisation nor pinned here, and it names this organisation as a recipient (a bundle
    /// for someone else is refused as before, whoever sent it).
    func isToBeHeld(_ header: BundleHeader) throws -> Bool {
        guard header.sender != own.org, header.stanzas.contains(where: { $0.recipient == own.org }) else { return false }
        // A card that cannot be read is this gateway's problem: it throws, and the bundle stays
        // in the mailbox, neither held nor refused.
        return try gateway.partners.card(for: header.sender) == nil
    }

    /// Puts the fetched bundle `local` aside unopened and returns its `held` record with the
    /// signed `held` receipt; nil when the held area is at one of its bounds (the caller then
    /// refuses the bundle as before). The caller journals the record (see ``heldRecorded(_:)``).
    func hold(_ local: String, id: BundleID, header: BundleHeader, digest: SHA256Digest, at now: Int64) throws -> IncomingRecord? {
        var index = loadedHeldIndex()
        let sender = header.sender.value
        let bytes = Self.treeSize(local)
        if let refusal = index.refusal(sender: sender, bytes: bytes, perSender: settings.limits.heldPerSender,
                                       maxBytes: UInt64(max(0, settings.limits.heldMaxBytes)), maxItems: ReceiveLimits.heldMaxItems) {
            logFailureOnce("held-bound-\(sender)", "not holding bundles claiming to be from \(sender): \(refusal); refused instead",
                           bundle: id.hex)
            return nil
        }
        let folder = heldFolder(id.hex)
        try FileOperations.makeDirectory(folder, mode: 0o700)
        // A second name for the fetched bytes (same spool, no copy), synced before the journal
        // says held and the mailbox item goes: the held copy is then the only one.
        if link(local, heldBundle(id.hex)) != 0 && errno != EEXIST { throw SystemError("keeping the held bundle", heldBundle(id.hex)) }
        try DurableFile.syncFolder(folder)
        let until = RFC3339.format(milliseconds: now + RetryPolicy.milliseconds(settings.limits.heldExpire)) ?? "?"
        let reason = "unknown-sender: \(sender) is not a partner here (no identity card added); held unopened until \(until) "
            + "for its card (`gatehouse partners add CARD`)"
        writeReason("HELD (\(reason))\nclaimed sender: \(sender)\ngroup: \(QuarantineIndex.unverified)", to: "\(folder)/reason.txt")
        let receipt = try Receipt.signed(bundleID: id, bundleSender: header.sender, receiver: own.org, bundleSHA256: digest,
                                         receivedAt: UInt64(now / 1000), disposition: .held(.unknownSender), manifestSHA256: nil,
                                         fileDigests: [], signingKey: try gateway.keys.loadSigningKey())
        index.add(HeldIndex.Item(id: id.hex, sender: sender, heldAt: now, bytes: bytes, answered: false))
        held.index = index
        return IncomingRecord(bundleID: id.hex, sender: sender, state: .held, receivedAt: now, bundleSHA256: digest.hex,
                              reason: reason, receipt: receipt.encoded)
    }

    /// The moment a bundle becomes held: its `held` record is journalled. Logged and audited here,
    /// once per bundle.
    func heldRecorded(_ record: IncomingRecord) {
        // notify: pack held
        log(.warning, "held: \(record.reason ?? "unknown-sender")", bundle: record.bundleID, partner: record.sender, state: "held")
        audit(AuditEvent("bundle-held", org: record.sender, bundle: record.bundleID, sha256: record.bundleSHA256,
                         detail: "unknown-sender"))
    }

    /// Looks at every held bundle, once a collector round: opens those whose sender's card has
    /// been added, refuses those held longer than `[limits] held_expire`, and sends the `held`
    /// receipts the 10-minute rule held back. Returns how many bundles left the held area.
    @discardableResult
    public func upkeepHeld() async -> Int {
        await sendUnsentHeldReceipts()
        let items = loadedHeldIndex().items
        guard !items.isEmpty else { return 0 }
        let now = clock.now()
        var pinned: [String: Bool] = [:]
        var done = 0
        for item in items {
            if let until = held.retryAt[item.id], until > now { continue }
            if now - item.heldAt >= RetryPolicy.milliseconds(settings.limits.heldExpire) {
                if await expireHeld(item) { done += 1 }
                continue
            }
            let isPinned = pinned[item.sender] ?? ((try? ODSCode(item.sender)).flatMap { try? gateway.partners.card(for: $0) } != nil)
            pinned[item.sender] = isPinned
            if isPinned {
                if await releaseHeld(item) { done += 1 }
            } else if !item.answered, let sender = try? ODSCode(item.sender), mayAnswerUnproven(sender, at: now),
                      let id = try? BundleID(hex: item.id), let record = try? journal.incoming(item.id), record.state == .held {
                do { try await answer(record, id: id) } catch {
                    logFailureOnce("held-answer-\(item.id)", "sending the held receipt to \(sender) failed: \(error)", bundle: item.id)
                }
            }
        }
        return done
    }

    /// Opens a held bundle under its sender's newly added card: published, or refused with the
    /// normal reason; then its final receipt goes out. Returns false when it stays held.
    private func releaseHeld(_ item: HeldIndex.Item) async -> Bool {
        guard let id = try? BundleID(hex: item.id) else { return false }
        let now = clock.now()
        // A key the new card does not name waits like any other (`unknown_sender_hold`), then is refused.
        let waited = held.keyWaitSince[item.id].map { now - $0 >= RetryPolicy.milliseconds(settings.limits.unknownSenderHold) } ?? false
        do {
            let (record, context) = try process(heldBundle(item.id), id: id, waitForKeys: !waited)
            guard try journal.resolveHeld(record, detail: record.reason ?? "published: \(item.sender)'s card was added", context: context) else {
                forgetHeld(item.id)
                return false
            }
            log(.info, "opened the held bundle: \(item.sender)'s card has been added", bundle: item.id, partner: item.sender,
                state: record.state.rawValue)
            await finishHeld(item, record: record, id: id)
            return true
        } catch let error as DeferredItem {
            if held.keyWaitSince[item.id] == nil {
                held.keyWaitSince[item.id] = now
                log(.warning, "the held bundle waits for a newer key manifest: \(error.description)", bundle: item.id, partner: item.sender)
            }
            held.retryAt[item.id] = now + 30_000
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
        guard let id = try? BundleID(hex: item.id) else { return false }
        do {
            guard let stored = try journal.incoming(item.id), stored.state == .held,
                  let digest = [UInt8](hex: stored.bundleSHA256).flatMap(SHA256Digest.init(bytes:)) else {
                forgetHeld(item.id)
                return false
            }
            let hours = (clock.now() - item.heldAt) / 3_600_000
            let record = try reject(heldBundle(item.id), id: id, sender: item.sender, digest: digest, reason: .expired,
                                    detail: "held \(hours) h unopened: \(item.sender)'s card was not added within [limits] held_expire "
                                        + "(\(settings.limits.heldExpire))", at: clock.now())
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
    /// as any bundle is.
    private func finishHeld(_ item: HeldIndex.Item, record: IncomingRecord, id: BundleID) async {
        audit(AuditEvent(record.state == .published ? "bundle-received" : "bundle-rejected", org: record.sender, bundle: id.hex,
                         sha256: record.bundleSHA256, detail: Self.category(record.reason)))
        try? keepEvidence(bundle: record.state == .published ? heldBundle(item.id) : nil, receipt: record.receipt, id: id.hex,
                          direction: "in")
        removeTree(heldFolder(item.id))
        forgetHeld(item.id)
        guard let sender = try? ODSCode(item.sender) else { return }
        let pinned = (try? gateway.partners.card(for: sender)) != nil
        do {
            if item.answered {
                try await sendReceipt(record.receipt, for: id, to: sender, via: pinned ? nil : own.org)
                auditReceiptSent(record, id: id)
            } else if pinned {
                try await answer(record, id: id)
            }
        } catch {
            held.unsent[id.hex] = HeldWork.UnsentReceipt(receipt: record.receipt, sender: item.sender, viaOwnServer: !pinned)
            log(.warning, "sending the receipt for the held bundle failed, trying again: \(error)", bundle: id.hex, partner: item.sender)
        }
    }

    private func sendUnsentHeldReceipts() async {
        for (hex, unsent) in held.unsent {
            guard let id = try? BundleID(hex: hex), let sender = try? ODSCode(unsent.sender) else { held.unsent[hex] = nil; continue }
            do {
                try await sendReceipt(unsent.receipt, for: id, to: sender, via: unsent.viaOwnServer ? own.org : nil)
                held.unsent[hex] = nil
            } catch {
                logFailureOnce("held-unsent-\(hex)", "sending the receipt for the held bundle failed: \(error)", bundle: hex)
            }
        }
    }

    /// Records that the `held` receipt for `id` went out (a marker file, so a restart knows).
    func markHeldAnswered(_ id: String) {
        guard held.index?.item(id) != nil else { return }
        try? FileOperations.replaceAtomically(at: "\(heldFolder(id))/receipt-sent", contents: [], mode: 0o600)
        held.index?.markAnswered(id)
    }

    /// True when a receipt may go to `sender`, not proven, now: at most one every 10 minutes per
    /// claimed sender. ``takeUnprovenAllowance(_:)`` uses it.
    func mayAnswerUnproven(_ sender: ODSCode, at now: Int64) -> Bool {
        unprovenAnswers[sender].map { now - $0 >= 600_000 } ?? true
    }

    /// Uses `sender`'s allowance for a receipt to an unproven sender; false when it is used up.
    func takeUnprovenAllowance(_ sender: ODSCode) -> Bool {
        let now = clock.now()
        guard mayAnswerUnproven(sender, at: now) else { return false }
        unprovenAnswers[sender] = now
        return true
    }

    private func forgetHeld(_ id: String) {
        held.index?.remove(id)
        held.retryAt[id] = nil
        held.keyWaitSince[id] = nil
    }

    func heldFolder(_ id: String) -> String { "\(spool.held)/\(id)" }
    func heldBundle(_ id: String) -> String { "\(spool.held)/\(id)/\(id).ghb" }

    /// The held index, read from the journal at first use. Folders no held record names (left by
    /// a crash before the journal said held: the bundle is still in the mailbox) are removed.
    func loadedHeldIndex() -> HeldIndex {
        if let index = held.index { return index }
        guard let records = try? journal.heldIncoming() else { return HeldIndex() }
        let ids = Set(records.map(\.bundleID))
        for name in list(spool.held) where !ids.contains(name) { removeTree("\(spool.held)/\(name)") }
        let index = HeldIndex(records.filter { exists(heldBundle($0.bundleID)) }.map { record in
            HeldIndex.Item(id: record.bundleID, sender: record.sender, heldAt: record.receivedAt,
                           bytes: Self.treeSize(heldBundle(record.bundleID)), answered: exists("\(heldFolder(record.bundleID))/receipt-sent"))
        })
        for record in records where !exists(heldBundle(record.bundleID)) {
            log(.error, "the held bundle's copy in \(heldFolder(record.bundleID)) is missing; it cannot be opened", bundle: record.bundleID)
        }
        held.index = index
        return index
    }
}
