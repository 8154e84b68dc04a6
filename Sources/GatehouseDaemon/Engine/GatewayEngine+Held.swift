import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// Bundles from an organisation not pinned here are held, not refused (FORMAT.md §4.1): kept
/// unopened in `spool/held/<bundle id>/`, answered with a signed `held` receipt, opened as soon
/// as the sender's card is added (checked about every second, and at start:
/// GatewayEngine+HeldRelease.swift), refused as expired after `[limits] held_expire`.
extension GatewayEngine {
    /// True when the bundle with `header` is to be held: its claimed sender is neither this
    /// organisation nor pinned here, and it names this organisation as a recipient (a bundle
    /// for someone else is refused as before, whoever sent it).
    func isToBeHeld(_ header: BundleHeader) throws -> Bool {
        guard header.sender != own.org, header.stanzas.contains(where: { $0.recipient == own.org }) else {
            return false
        }
        // A card that cannot be read is this gateway's problem: it throws, and the bundle stays
        // in the mailbox, neither held nor refused.
        guard try gateway.partners.resolvedCard(for: header.sender) == nil else { return false }
        // Revoked (or expired) in the directory: no card is to be waited for; refused at once.
        return try !DirectoryClient(home: gateway.home).withdraws(header.sender)
    }

    /// Puts the fetched bundle `local` aside unopened and returns its `held` record with the
    /// signed `held` receipt; nil when the held area is at one of its bounds (the caller then
    /// refuses the bundle as before). The caller journals the record (see ``heldRecorded(_:)``).
    func hold(_ local: String, id: BundleID, header: BundleHeader, digest: SHA256Digest,
              at now: Int64) throws -> IncomingRecord? {
        var index = loadedHeldIndex()
        let sender = header.sender
        let bytes = Self.treeSize(local)
        let limits = settings.limits
        if let refusal = index.refusal(sender: sender, bytes: bytes, perSender: limits.heldPerSender,
                                       maxBytes: UInt64(max(0, limits.heldMaxBytes)),
                                       maxItems: ReceiveLimits.heldMaxItems) {
            logFailureOnce("held-bound-\(sender)", "not holding bundles claiming to be from \(sender): \(refusal); "
                           + "refused instead", bundle: id)
            return nil
        }
        let folder = heldFolder(id)
        try FileOperations.makeDirectory(folder, mode: 0o700)
        // A second name for the fetched bytes (same spool, no copy), synced before the journal
        // says held and the mailbox item goes: the held copy is then the only one.
        if link(local, heldBundle(id)) != 0 && errno != EEXIST {
            throw SystemError("keeping the held bundle", heldBundle(id))
        }
        try DurableFile.syncFolder(folder)
        let until = RFC3339.format(milliseconds: now + RetryPolicy.milliseconds(limits.heldExpire)) ?? "?"
        let reason = "unknown-sender: \(sender) is not a partner here (no identity card added); held unopened until "
            + "\(until) for its card (`gatehouse partners add CARD`)"
        writeReason("HELD (\(reason))\nclaimed sender: \(sender)\ngroup: \(QuarantineIndex.unverified)",
                    to: "\(folder)/reason.txt")
        let receipt = try Receipt.signed(
            bundleID: id, bundleSender: header.sender, receiver: own.org, bundleSHA256: digest,
            receivedAt: UInt64(now / 1000), disposition: .held(.unknownSender), manifestSHA256: nil, fileDigests: [],
            signingKey: try gateway.keys.loadSigningKey())
        index.add(HeldIndex.Item(id: id, sender: sender, heldAt: now, bytes: bytes, answered: false))
        held.index = index
        return IncomingRecord(bundleID: id, sender: sender, state: .held, receivedAt: now, bundleSHA256: digest.hex,
                              reason: reason, receipt: receipt.encoded)
    }

    /// The moment a bundle becomes held: its `held` record is journalled. Logged, audited and
    /// announced (`pack.held`) here, once per bundle; the bounds on held bundles bound these too.
    func heldRecorded(_ record: IncomingRecord) {
        notifyHeld(bundle: record.bundleID, sender: record.sender, reason: "unknown-sender")
        log(.warning, "held: \(record.reason ?? "unknown-sender")", bundle: record.bundleID, partner: record.sender,
            state: "held")
        audit(AuditEvent("bundle-held", org: record.sender, bundle: record.bundleID, sha256: record.bundleSHA256,
                         detail: "unknown-sender"))
    }

    /// Records that the `held` receipt for `id` went out (a marker file, so a restart knows).
    func markHeldAnswered(_ id: BundleID) {
        guard held.index?.item(id) != nil else { return }
        try? FileOperations.replaceAtomically(at: "\(heldFolder(id))/receipt-sent", contents: [], mode: 0o600)
        held.index?.markAnswered(id)
    }

    /// True when a receipt may go to `sender`, not proven, now: at most one every 10 minutes
    /// per claimed sender (a flood naming a partner must not fill its mailbox with receipts).
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

    func forgetHeld(_ id: BundleID) {
        held.index?.remove(id)
        held.retryAt[id] = nil
        held.keyWaitSince[id] = nil
    }

    func heldFolder(_ id: BundleID) -> String { "\(spool.held)/\(id.hex)" }
    func heldBundle(_ id: BundleID) -> String { "\(spool.held)/\(id.hex)/\(id.hex).ghb" }

    /// The held index, read from the journal at first use. Folders no held record names (left
    /// by a crash before the journal said held: the bundle is still in the mailbox) are removed.
    func loadedHeldIndex() -> HeldIndex {
        if let index = held.index { return index }
        guard let records = try? journal.heldIncoming() else { return HeldIndex() }
        let ids = Set(records.map(\.bundleID.hex))
        for name in list(spool.held) where !ids.contains(name) { removeTree("\(spool.held)/\(name)") }
        var items: [HeldIndex.Item] = []
        for record in records {
            let id = record.bundleID
            guard exists(heldBundle(id)) else {
                log(.error, "the held bundle's copy in \(heldFolder(id)) is missing; it cannot be opened", bundle: id)
                continue
            }
            let answered = exists("\(heldFolder(id))/receipt-sent")
            // A held record's sender is the one its readable header claims.
            guard let sender = record.sender else { continue }
            items.append(HeldIndex.Item(id: id, sender: sender, heldAt: record.receivedAt,
                                        bytes: Self.treeSize(heldBundle(id)), answered: answered))
        }
        let index = HeldIndex(items)
        held.index = index
        return index
    }
}
