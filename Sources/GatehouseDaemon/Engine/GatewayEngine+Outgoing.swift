import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

extension GatewayEngine {
    /// Does whatever outgoing work is due: expiries, sealing, deliveries. Returns when the next
    /// retry is due (ms since the epoch), if any.
    ///
    /// Reads only what is due (through the journal's indexes), at most `outgoingBatch` bundles
    /// per call, so a journal of a million bundles or ten thousand queued ones costs no more per
    /// pass than a few; when more are due the answer is "now".
    public func processOutgoing() async -> Int64? {
        let now = clock.now()
        let due: [OutgoingRecord]
        do {
            // One node per organisation expires (one report, one audit entry per bundle).
            if holdsSpoolLeaseNow { for record in try journal.expiredOutgoing(now: now) { expire(record) } }
            due = try journal.dueOutgoing(now: now, limit: Self.outgoingBatch)
        } catch {
            log(.error, "reading the journal failed: \(error)")
            return now + 1000
        }
        var heldUntil: Int64?
        var worked = false
        for var record in due {
            // A retry the journal could not record (a full disk) waits here instead.
            if let held = heldBack[record.bundleID], held.until > now {
                heldUntil = min(heldUntil ?? held.until, held.until)
                continue
            }
            worked = true
            // A delivery attempted while sealing counts as this pass's attempt, failed or not.
            let attempted = record.state == .queued ? await sealAndDeliver(&record) : false
            if record.state == .sealed && !attempted { await deliver(&record) }
            // Let a waiting claim in between bundles: files waiting in the outbox are claimed
            // (journalled, safe) before a long backlog is sealed.
            await Task.yield()
        }
        if due.count == Self.outgoingBatch && worked { return now }
        // The journal's earliest attempt, unless it is already past (a held-back retry): then
        // look again within a second.
        let journalNext = (try? journal.nextAttemptAt()).flatMap { $0 }.map { $0 > now ? $0 : now + 1000 }
        return [heldUntil, journalNext].compactMap { $0 }.min()
    }

    /// Remembers a retry's time and count in memory as well as in the journal: when the journal
    /// cannot be written (a full disk), the retry still waits and backs off instead of spinning.
    func holdBack(_ record: OutgoingRecord) {
        if heldBack.count >= 100_000 { heldBack = heldBack.filter { $0.value.until > record.updatedAt } }
        heldBack[record.bundleID] = (record.nextAttemptAt, record.attempts)
    }

    /// Bundles sealed or delivered per pass of ``processOutgoing()``.
    static let outgoingBatch = 32

    func deliver(_ record: inout OutgoingRecord) async {
        let partner = record.partner
        guard var breaker = allowedBreaker(&record, partner) else { return }
        defer { breakers[partner] = breaker }
        do {
            // Several nodes: a fresh look before the upload. A node whose lease ran out while
            // the bundle was in hand is refused here (it may be another node's now), and a
            // bundle another node sealed again or finished meanwhile is not uploaded from here.
            if journal.isShared {
                guard let current = try journal.outgoing(record.bundleID), current.state == .sealed,
                      current.bundleSHA256 == record.bundleSHA256 else { return }
            }
            let id = record.bundleID
            let transport = try transport(for: partner)
            try await transport.deliver(spool.sealedBundle(record.bundleID), to: partner, as: MailboxName.bundle(id))
            try await delivered(&record, to: partner, breaker: &breaker)
        } catch {
            deliveryFailed(&record, to: partner, breaker: &breaker, error: error)
        }
    }

    /// The partner's circuit breaker if it allows an attempt now; else the bundle waits (nil).
    func allowedBreaker(_ record: inout OutgoingRecord, _ partner: ODSCode) -> CircuitBreaker? {
        let now = clock.now()
        var breaker = breakers[partner] ?? CircuitBreaker(threshold: settings.breakerFailures,
                                                           cooldownMilliseconds: RetryPolicy.milliseconds(settings.breakerCooldown))
        let allowed = breaker.allowsAttempt(now: now)
        breakers[partner] = breaker
        guard allowed else {
            // Journalled, so that the bundle is not due again (and read again) until then.
            record.nextAttemptAt = now + RetryPolicy.milliseconds(settings.breakerCooldown) / 4
            holdBack(record)
            if (try? journal.save(record)) == false { record = (try? journal.outgoing(record.bundleID)) ?? record }
            return nil
        }
        return breaker
    }

    /// Records a bundle now in the partner's mailbox.
    func delivered(_ record: inout OutgoingRecord, to partner: ODSCode, breaker: inout CircuitBreaker) async throws {
        breaker.recordSuccess()
        DaemonMetrics.delivered(to: record.partner)
        record.state = .delivered
        record.attempts += 1
        record.lastError = nil
        record.updatedAt = clock.now()
        // Not waited for on disk: if a power cut loses it, the bundle is only delivered again
        // (the same name with the same bytes counts as delivered; the receiver answers a
        // bundle it has seen with its original receipt). The acknowledgement is durable.
        guard try journal.saveRepeatable(record, detail: "delivered to \(partner)'s mailbox") else {
            // While the delivery was awaited, this bundle's receipt was processed (a fast
            // partner): the journal keeps the final (or held) state.
            record = try journal.outgoing(record.bundleID) ?? record
            return
        }
        log(.info, "delivered", bundle: record.bundleID, partner: record.partner, state: "delivered")
        audit(AuditEvent("bundle-delivered", org: record.partner, bundle: record.bundleID, sha256: record.bundleSHA256))
        await startManifestRecord(for: partner)
    }

    /// Records a failed delivery: the breaker counts it and the bundle is retried later.
    func deliveryFailed(_ record: inout OutgoingRecord, to partner: ODSCode, breaker: inout CircuitBreaker, error: any Error) {
        let now = clock.now()
        breaker.recordFailure(now: now)
        DaemonMetrics.deliveryFailed(to: record.partner, now: now)
        retryLater(&record, error: "delivery to \(partner) failed: \(error)")
    }

    func retryLater(_ record: inout OutgoingRecord, error: String) {
        record.attempts = max(record.attempts, heldBack[record.bundleID]?.attempts ?? 0) + 1
        let delay = settings.retry.delayMilliseconds(afterFailures: record.attempts, using: &random)
        record.nextAttemptAt = clock.now() + delay
        record.lastError = error
        record.updatedAt = clock.now()
        holdBack(record)
        if (try? journal.save(record)) == false {
            // Made final meanwhile (its receipt arrived): nothing to retry.
            record = (try? journal.outgoing(record.bundleID)) ?? record
            heldBack[record.bundleID] = nil
            return
        }
        log(.warning, "\(error); retrying in \(delay) ms", bundle: record.bundleID, partner: record.partner, state: record.state.rawValue)
        DaemonMetrics.retried(partner: record.partner)
    }

    func expire(_ record: OutgoingRecord) {
        var record = record
        let reason = "not acknowledged by \(record.partner) within \(settings.expiry) (last error: \(record.lastError ?? "none"))"
        record.state = .expired
        record.updatedAt = clock.now()
        record.lastError = reason
        do {
            try nonDeliveryReport(record, reason: reason)
            try journal.save(record, detail: reason)
        } catch {
            log(.error, "expiring failed: \(error)", bundle: record.bundleID, partner: record.partner)
            return
        }
        log(.error, "expired: \(reason)", bundle: record.bundleID, partner: record.partner, state: "expired")
        DaemonMetrics.finished(record, now: record.updatedAt)
        audit(AuditEvent("bundle-expired", org: record.partner, bundle: record.bundleID, sha256: record.bundleSHA256))
        notifyExpired(record, detail: reason)
    }

    /// Marks a record failed and writes its non-delivery report.
    func fail(_ record: OutgoingRecord, reason: String) throws {
        var record = record
        record.state = .failed
        record.updatedAt = clock.now()
        record.lastError = reason
        try nonDeliveryReport(record, reason: reason)
        try journal.save(record, detail: reason)
        log(.error, "failed: \(reason)", bundle: record.bundleID, partner: record.partner, state: "failed")
        DaemonMetrics.finished(record, now: record.updatedAt)
        audit(AuditEvent("bundle-failed", org: record.partner, bundle: record.bundleID))
        notifyFailed(record, detail: reason)
    }

    /// The originals go back to the sender in `spool/failed/<bundle id>/` with `reason.txt` (a
    /// pack as its folder, ready to drop into the outbox again).
    func nonDeliveryReport(_ record: OutgoingRecord, reason: String) throws {
        // Filled under a hidden name and renamed into view whole (see FailedFolder).
        let target = "\(spool.failed)/\(record.bundleID)"
        let folder = FailedFolder.staging(target)
        try FileOperations.makeDirectory(folder, mode: 0o700)
        if let name = try packName(of: record.bundleID) {
            try movePack(record.bundleID, named: name, to: folder)
        } else {
            try moveAll(try journal.files(of: record.bundleID).filter { exists($0.workPath) }
                .map { ($0.workPath, "\(folder)/\($0.name)") })
        }
        writeReason("NOT DELIVERED to \(record.partner): \(reason)\nbundle \(record.bundleID), claimed at \(RFC3339.format(UInt64(record.createdAt / 1000)) ?? "?")", to: "\(folder)/reason.txt")
        try FailedFolder.publishBeside(folder, as: target)
        unlink(spool.sealedBundle(record.bundleID))
        rmdir(spool.outgoingWork(record.bundleID))
    }
}
