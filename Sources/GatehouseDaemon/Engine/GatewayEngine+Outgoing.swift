import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// What happened to a file offered from the outbox.
public enum ClaimOutcome: Sendable, Equatable {
    /// Journalled and moved into the work folder under this bundle id.
    case claimed(bundleID: String)
    /// Moved to `spool/failed/` with this reason.
    case refused(reason: String)
}

extension GatewayEngine {
    /// Claims a complete file from `outbox/<partner>/` (see ``claim(_:)``).
    public func claim(partner folder: String, path: String, name: String) -> ClaimOutcome {
        claim([OutboxFile(partner: folder, path: path, name: name, size: 0)])[0]
    }

    /// Claims complete files from `outbox/<partner>/`, one outcome per file, in order.
    ///
    /// Files for the same partner are grouped into bundles (at most `bundleMaxFiles` files and
    /// `bundleMaxBytes` bytes each; a larger file travels alone). Every bundle id is assigned and
    /// journalled, in one transaction for the whole batch, **before** any side effect; then the
    /// originals move into the work folders and each folder is synced once. A file that cannot
    /// be sent goes to `spool/failed/` with a reason; nothing is skipped silently.
    public func claim(_ files: [OutboxFile]) -> [ClaimOutcome] {
        // A large backlog in slices: each one journalled in one transaction of bounded size.
        guard files.count <= Self.claimSlice else {
            return stride(from: 0, to: files.count, by: Self.claimSlice).flatMap {
                claimSlice(Array(files[$0..<min($0 + Self.claimSlice, files.count)]))
            }
        }
        return claimSlice(files)
    }

    /// Files claimed in one journal transaction.
    static let claimSlice = 4096

    private func claimSlice(_ files: [OutboxFile]) -> [ClaimOutcome] {
        var outcomes = [ClaimOutcome?](repeating: nil, count: files.count)
        var accepted: [(index: Int, partner: ODSCode, size: Int64)] = []
        var partnerChecks: [String: Result<ODSCode, ClaimRefusal>] = [:]
        for (index, file) in files.enumerated() {
            let check = partnerChecks[file.partner] ?? checkPartner(file.partner)
            partnerChecks[file.partner] = check
            switch check.flatMap({ partner in checkFile(file).map { (partner, $0) } }) {
            case .failure(let refusal):
                outcomes[index] = refusal.vanished ? .refused(reason: "vanished") : refuse(path: file.path, partner: file.partner, reason: refusal.reason)
            case .success(let (partner, size)):
                // A claim journalled earlier whose move failed (a full disk): finish that one
                // rather than creating a second bundle for the same file.
                if let pending = unfinishedClaims[file.path] {
                    outcomes[index] = finishClaim(pending, partner: partner)
                } else {
                    accepted.append((index, partner, size))
                }
            }
        }
        let now = clock.now()
        var bundles: [NewOutgoing] = []
        var members: [[Int]] = []
        for group in Self.batches(accepted.map { ($0.partner, $0.size) }, maxFiles: settings.bundleMaxFiles, maxBytes: settings.bundleMaxBytes) {
            let id = BundleID.random().hex
            let partner = accepted[group[0]].partner
            var record = OutgoingRecord(bundleID: id, partner: partner.value, createdAt: now,
                                        expiresAt: now + RetryPolicy.milliseconds(settings.expiry))
            record.updatedAt = now
            let work = spool.outgoingWork(id)
            let entries = group.enumerated().map { position, member in
                let file = files[accepted[member].index]
                return OutgoingFile(bundleID: id, position: position, name: file.name, size: accepted[member].size,
                                    sourcePath: file.path, workPath: "\(work)/\(file.name)")
            }
            let detail = entries.count == 1 ? "claimed \(entries[0].name.debugDescription) from the outbox"
                                            : "claimed \(entries.count) files from the outbox"
            bundles.append(NewOutgoing(record: record, files: entries, detail: detail))
            members.append(group.map { accepted[$0].index })
        }
        guard !bundles.isEmpty else { return outcomes.map { $0 ?? .refused(reason: "not claimed") } }
        do {
            try journal.insert(bundles)
        } catch {
            log(.error, "journalling \(accepted.count) claimed files failed: \(error)")
            for (index, _, _) in accepted { outcomes[index] = .refused(reason: "\(error)") }
            return outcomes.map { $0! }
        }
        var foldersToSync = Set<String>()
        for (bundle, indexes) in zip(bundles, members) {
            let id = bundle.record.bundleID
            do {
                try FileOperations.makeDirectory(spool.outgoingWork(id), mode: 0o700)
            } catch {
                log(.error, "creating the work folder failed: \(error)", bundle: id, partner: bundle.record.partner)
            }
            for (file, index) in zip(bundle.files, indexes) {
                guard rename(file.sourcePath, file.workPath) == 0 else {
                    // The journal entry is finished by the next offer of this file or by recover().
                    let error = SystemError("moving \(file.sourcePath) to", file.workPath)
                    unfinishedClaims[file.sourcePath] = file
                    log(.error, "claiming \(file.sourcePath) failed: \(error)", bundle: id, partner: bundle.record.partner)
                    outcomes[index] = .refused(reason: "\(error)")
                    continue
                }
                foldersToSync.insert(DurableFile.split(file.sourcePath).folder)
                outcomes[index] = .claimed(bundleID: id)
            }
            foldersToSync.insert(spool.outgoingWork(id))
            log(.info, bundle.files.count == 1 ? "claimed" : "claimed \(bundle.files.count) files", bundle: id, partner: bundle.record.partner, state: "queued")
        }
        // One sync per folder for the whole batch: the renames are durable before anything is sealed.
        foldersToSync.insert("\(spool.work)/out")
        for folder in foldersToSync.sorted() {
            do { try DurableFile.syncFolder(folder) } catch { log(.error, "syncing \(folder) failed: \(error)") }
        }
        return outcomes.map { $0 ?? .refused(reason: "not claimed") }
    }

    /// Groups claimable files (in order) into bundles: one partner per bundle, at most
    /// `maxFiles` files and `maxBytes` bytes, except that a file larger than `maxBytes` travels
    /// alone. Returns indexes into `files`.
    package static func batches(_ files: [(partner: ODSCode, size: Int64)], maxFiles: Int, maxBytes: Int64) -> [[Int]] {
        var open: [ODSCode: (members: [Int], bytes: Int64)] = [:]
        var order: [ODSCode] = []
        var done: [[Int]] = []
        for (index, file) in files.enumerated() {
            if var current = open[file.partner] {
                if current.members.count < maxFiles && current.bytes + file.size <= maxBytes {
                    current.members.append(index)
                    current.bytes += file.size
                    open[file.partner] = current
                    continue
                }
                done.append(current.members)
            } else {
                order.append(file.partner)
            }
            open[file.partner] = ([index], file.size)
        }
        return done + order.compactMap { open[$0]?.members }
    }

    private struct ClaimRefusal: Error {
        let reason: String
        var vanished = false
    }

    private func checkPartner(_ folder: String) -> Result<ODSCode, ClaimRefusal> {
        do {
            let partner = try ODSCode(folder)
            guard try gateway.partners.card(for: partner) != nil || partner == own.org else {
                return .failure(ClaimRefusal(reason: "\(folder) is not a known partner; import its identity card with `gatehouse partners add`"))
            }
            return .success(partner)
        } catch let error as FormatError {
            return .failure(ClaimRefusal(reason: error.detail))
        } catch {
            return .failure(ClaimRefusal(reason: "\(error)"))
        }
    }

    /// The file's size if it may be sent.
    private func checkFile(_ file: OutboxFile) -> Result<Int64, ClaimRefusal> {
        do { try FileNameRule.validate(file.name) } catch { return .failure(ClaimRefusal(reason: error.detail)) }
        var info = stat()
        guard lstat(file.path, &info) == 0 else { return .failure(ClaimRefusal(reason: "vanished", vanished: true)) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            return .failure(ClaimRefusal(reason: "not a regular file (symbolic links and special files are never sent)"))
        }
        guard access(file.path, R_OK) == 0 else { return .failure(ClaimRefusal(reason: "unreadable: \(String(cString: strerror(errno)))")) }
        return .success(Int64(info.st_size))
    }

    private func finishClaim(_ pending: OutgoingFile, partner: ODSCode) -> ClaimOutcome {
        do {
            try FileOperations.makeDirectory(spool.outgoingWork(pending.bundleID), mode: 0o700)
            try move(pending.sourcePath, to: pending.workPath)
        } catch {
            log(.error, "claiming \(pending.sourcePath) failed: \(error)", bundle: pending.bundleID, partner: partner.value)
            return .refused(reason: "\(error)")
        }
        unfinishedClaims[pending.sourcePath] = nil
        log(.info, "finished an interrupted claim", bundle: pending.bundleID, partner: partner.value, state: "queued")
        return .claimed(bundleID: pending.bundleID)
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
    ///
    /// Reads only what is due (through the journal's indexes), at most `outgoingBatch` bundles
    /// per call, so a journal of a million bundles or ten thousand queued ones costs no more per
    /// pass than a few; when more are due the answer is "now".
    public func processOutgoing() async -> Int64? {
        let now = clock.now()
        let due: [OutgoingRecord]
        do {
            for record in try journal.expiredOutgoing(now: now) { expire(record) }
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
            if record.state == .queued { seal(&record) }
            if record.state == .sealed { await deliver(&record) }
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
            DaemonMetrics.sealed(bytes: record.bundleSize, partner: record.partner)
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
            // Journalled, so that the bundle is not due again (and read again) until then.
            record.nextAttemptAt = now + RetryPolicy.milliseconds(settings.breakerCooldown) / 4
            holdBack(record)
            if (try? journal.save(record)) == false { record = (try? journal.outgoing(record.bundleID)) ?? record }
            return
        }
        do {
            let id = try BundleID(hex: record.bundleID)
            let transport = try transport(for: partner)
            try await transport.deliver(spool.sealedBundle(record.bundleID), to: partner, as: MailboxName.bundle(id))
            breaker.recordSuccess()
            DaemonMetrics.delivered(to: record.partner)
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
            DaemonMetrics.deliveryFailed(to: record.partner, now: now)
            retryLater(&record, error: "delivery to \(partner) failed: \(error)")
        }
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
    }

    /// The originals go back to the sender in `spool/failed/<bundle id>/` with `reason.txt`.
    func nonDeliveryReport(_ record: OutgoingRecord, reason: String) throws {
        let folder = "\(spool.failed)/\(record.bundleID)"
        try FileOperations.makeDirectory(folder, mode: 0o700)
        try moveAll(try journal.files(of: record.bundleID).filter { exists($0.workPath) }.map { ($0.workPath, "\(folder)/\($0.name)") })
        writeReason("NOT DELIVERED to \(record.partner): \(reason)\nbundle \(record.bundleID), claimed at \(RFC3339.format(UInt64(record.createdAt / 1000)) ?? "?")", to: "\(folder)/reason.txt")
        unlink(spool.sealedBundle(record.bundleID))
        rmdir(spool.outgoingWork(record.bundleID))
    }
}
