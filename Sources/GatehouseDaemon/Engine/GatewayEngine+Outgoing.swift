import Glibc
import GatehouseCrypto
public import GatehouseFormat
public import GatehouseJournal
public import GatehouseKit

/// What happened to a file offered from the outbox.
public enum ClaimOutcome: Sendable, Equatable {
    /// Journalled and moved into the work folder under this bundle id.
    case claimed(bundleID: String)
    /// Moved to `spool/failed/` with this reason.
    case refused(reason: String)
}

extension GatewayEngine {
    /// Claims a complete file from `outbox/<partner>/`: assigns the bundle id and journals the
    /// record **before** any side effect, then moves the original into the work folder.
    /// A file that cannot be sent goes to `spool/failed/` with a reason; nothing is skipped silently.
    public func claim(partner folder: String, path: String, name: String) -> ClaimOutcome {
        let partner: ODSCode
        do {
            partner = try ODSCode(folder)
            guard try gateway.partners.card(for: partner) != nil || partner == own.org else {
                return refuse(path: path, partner: folder, reason: "\(folder) is not a known partner; import its identity card with `gatehouse partners add`")
            }
            try FileNameRule.validate(name)
        } catch let error as FormatError {
            return refuse(path: path, partner: folder, reason: error.detail)
        } catch {
            return refuse(path: path, partner: folder, reason: "\(error)")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else { return .refused(reason: "vanished") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            return refuse(path: path, partner: folder, reason: "not a regular file (symbolic links and special files are never sent)")
        }
        guard access(path, R_OK) == 0 else { return refuse(path: path, partner: folder, reason: "unreadable: \(String(cString: strerror(errno)))") }
        // A claim journalled earlier whose move failed (a full disk, a crash): finish that one
        // rather than creating a second bundle for the same file.
        if let pending = try? journal.queuedClaim(sourcePath: path), !exists(pending.workPath) {
            do {
                try FileOperations.makeDirectory(spool.outgoingWork(pending.bundleID), mode: 0o700)
                try move(path, to: pending.workPath)
                log(.info, "finished an interrupted claim", bundle: pending.bundleID, partner: partner.value, state: "queued")
                return .claimed(bundleID: pending.bundleID)
            } catch {
                log(.error, "claiming \(path) failed: \(error)", bundle: pending.bundleID, partner: partner.value)
                return .refused(reason: "\(error)")
            }
        }
        let id = BundleID.random().hex
        let now = clock.now()
        let record = OutgoingRecord(bundleID: id, partner: partner.value, createdAt: now,
                                    expiresAt: now + RetryPolicy.milliseconds(settings.expiry))
        let work = spool.outgoingWork(id)
        let file = OutgoingFile(bundleID: id, position: 0, name: name, size: Int64(info.st_size), sourcePath: path, workPath: "\(work)/\(name)")
        do {
            try journal.insert(record, files: [file], detail: "claimed \(name.debugDescription) from the outbox")
            try FileOperations.makeDirectory(work, mode: 0o700)
            try move(path, to: file.workPath)
        } catch {
            // The journal entry (if written) is finished by recover() or the next attempt.
            log(.error, "claiming \(path) failed: \(error)", bundle: id, partner: partner.value)
            return .refused(reason: "\(error)")
        }
        log(.info, "claimed", bundle: id, partner: partner.value, state: "queued")
        return .claimed(bundleID: id)
    }

    /// Moves a file that cannot be sent to `spool/failed/` with a reason file beside it.
    public func refuse(path: String, partner: String?, reason: String) -> ClaimOutcome {
        let name = DurableFile.split(path).name
        let folder = "\(spool.failed)/\(clock.now())-\(randomBytes(3).hexString)"
        do {
            try FileOperations.makeDirectory(folder, mode: 0o700)
            writeReason("not sent: \(name.debugDescription) for \(partner ?? "no partner"): \(reason)", to: "\(folder)/reason.txt")
            try move(path, to: "\(folder)/\(name)")
        } catch {
            log(.error, "could not move \(path) to failed/: \(error)", partner: partner)
        }
        log(.warning, "refused \(name.debugDescription): \(reason)", partner: partner, state: "failed")
        return .refused(reason: reason)
    }

    /// Does whatever outgoing work is due: expiries, sealing, deliveries. Returns when the next
    /// retry is due (ms since the epoch), if any.
    public func processOutgoing() async -> Int64? {
        let now = clock.now()
        var next: Int64?
        let pending: [OutgoingRecord]
        do { pending = try journal.outgoing(in: [.queued, .sealed, .delivered]) } catch {
            log(.error, "reading the journal failed: \(error)")
            return now + 1000
        }
        for var record in pending {
            if now >= record.expiresAt {
                expire(record)
                continue
            }
            if record.state == .delivered { continue }
            guard record.nextAttemptAt <= now else {
                next = min(next ?? record.nextAttemptAt, record.nextAttemptAt)
                continue
            }
            if record.state == .queued { seal(&record) }
            if record.state == .sealed { await deliver(&record) }
            if record.state != .delivered, !record.state.isFinal {
                next = min(next ?? record.nextAttemptAt, record.nextAttemptAt)
            }
        }
        return next
    }

    func seal(_ record: inout OutgoingRecord) {
        do {
            let files = try journal.files(of: record.bundleID)
            let output = spool.sealedBundle(record.bundleID)
            // A bundle left by a crash before it was journalled was never delivered: reseal.
            unlink(output)
            var request = SealRequest(paths: files.map(\.workPath), recipients: [try ODSCode(record.partner)])
            request.bundleID = try BundleID(hex: record.bundleID)
            request.output = output
            let sealed = try gateway.seal(request, now: UInt64(record.createdAt / 1000))
            record.state = .sealed
            record.bundleSHA256 = sealed.bundle.bundleSHA256.hex
            record.bundleSize = Int64(sealed.bundle.length)
            record.lastError = nil
            record.updatedAt = clock.now()
            try journal.save(record, detail: "sealed, \(sealed.bundle.length) bytes")
            log(.info, "sealed", bundle: record.bundleID, partner: record.partner, state: "sealed")
            audit(AuditEvent("bundle-sealed", org: record.partner, bundle: record.bundleID, sha256: record.bundleSHA256))
        } catch {
            retryLater(&record, error: "sealing failed: \(error)")
        }
    }

    func deliver(_ record: inout OutgoingRecord) async {
        let now = clock.now()
        guard let partner = try? ODSCode(record.partner) else { return }
        var breaker = breakers[partner] ?? CircuitBreaker(threshold: settings.breakerFailures,
                                                           cooldownMilliseconds: RetryPolicy.milliseconds(settings.breakerCooldown))
        defer { breakers[partner] = breaker }
        guard breaker.allowsAttempt(now: now) else {
            record.nextAttemptAt = now + RetryPolicy.milliseconds(settings.breakerCooldown) / 4
            return
        }
        do {
            let id = try BundleID(hex: record.bundleID)
            let transport = try transport(for: partner)
            try await transport.deliver(spool.sealedBundle(record.bundleID), to: partner, as: MailboxName.bundle(id))
            breaker.recordSuccess()
            record.state = .delivered
            record.attempts += 1
            record.lastError = nil
            record.updatedAt = clock.now()
            guard try journal.save(record, detail: "delivered to \(partner)'s mailbox") else {
                // While the delivery was awaited, this bundle's receipt was processed (a fast
                // partner): the journal keeps the final state.
                record = try journal.outgoing(record.bundleID) ?? record
                return
            }
            log(.info, "delivered", bundle: record.bundleID, partner: record.partner, state: "delivered")
            audit(AuditEvent("bundle-delivered", org: record.partner, bundle: record.bundleID, sha256: record.bundleSHA256))
        } catch {
            breaker.recordFailure(now: now)
            retryLater(&record, error: "delivery to \(partner) failed: \(error)")
        }
    }

    func retryLater(_ record: inout OutgoingRecord, error: String) {
        record.attempts += 1
        let delay = settings.retry.delayMilliseconds(afterFailures: record.attempts, using: &random)
        record.nextAttemptAt = clock.now() + delay
        record.lastError = error
        record.updatedAt = clock.now()
        if (try? journal.save(record)) == false {
            // Made final meanwhile (its receipt arrived): nothing to retry.
            record = (try? journal.outgoing(record.bundleID)) ?? record
            return
        }
        log(.warning, "\(error); retrying in \(delay) ms", bundle: record.bundleID, partner: record.partner, state: record.state.rawValue)
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
        audit(AuditEvent("bundle-expired", org: record.partner, bundle: record.bundleID, sha256: record.bundleSHA256))
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
        audit(AuditEvent("bundle-failed", org: record.partner, bundle: record.bundleID))
    }

    /// The originals go back to the sender in `spool/failed/<bundle id>/` with `reason.txt`.
    func nonDeliveryReport(_ record: OutgoingRecord, reason: String) throws {
        let folder = "\(spool.failed)/\(record.bundleID)"
        try FileOperations.makeDirectory(folder, mode: 0o700)
        for file in try journal.files(of: record.bundleID) where exists(file.workPath) {
            try move(file.workPath, to: "\(folder)/\(file.name)")
        }
        writeReason("NOT DELIVERED to \(record.partner): \(reason)\nbundle \(record.bundleID), claimed at \(RFC3339.format(UInt64(record.createdAt / 1000)) ?? "?")", to: "\(folder)/reason.txt")
        unlink(spool.sealedBundle(record.bundleID))
        rmdir(spool.outgoingWork(record.bundleID))
    }
}
