import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// What happened to a file offered from the outbox.
public enum ClaimOutcome: Sendable, Equatable {
    /// Journalled and moved into the work folder under this bundle id.
    case claimed(bundleID: BundleID)
    /// Moved to `spool/failed/` with this reason.
    case refused(reason: String)
    /// Left in the outbox for now (still open for writing); offered again later.
    case waiting(reason: String)
}

extension GatewayEngine {
    /// Claims a complete file from `outbox/<partner>/` (see ``claim(_:)``).
    public func claim(partner folder: String, path: String, name: String) -> ClaimOutcome {
        claim([OutboxFile(partner: folder, path: path, name: name, size: 0)])[0]
    }

    /// Claims complete files and pack folders from `outbox/<partner>/`, one outcome each, in order.
    ///
    /// A pack folder is claimed whole into a bundle of its own (``claimPack(_:)``).
    /// Each file is opened once, without following links or blocking, and judged on that
    /// descriptor (``OriginalFile``): links, FIFOs, devices and files with a second name go to
    /// `spool/failed/` with a reason; a file still open for writing stays in the outbox.
    /// Files for the same partner are grouped into bundles (at most `bundleMaxFiles` files and
    /// `bundleMaxBytes` bytes each; a larger file travels alone). Every bundle id is assigned and
    /// journalled, in one transaction for the whole batch, **before** any side effect; then the
    /// originals move into the work folders and each folder is synced once. Nothing is skipped
    /// silently. (The path may still be swapped between the check and the move: sealing opens
    /// and judges the moved file again, and seals only from that descriptor.)
    public func claim(_ files: [OutboxFile]) -> [ClaimOutcome] {
        guard files.contains(where: \.isPack) else { return claimLoose(files) }
        var outcomes = [ClaimOutcome?](repeating: nil, count: files.count)
        let loose = files.indices.filter { !files[$0].isPack }
        for (index, outcome) in zip(loose, claimLoose(loose.map { files[$0] })) { outcomes[index] = outcome }
        for index in files.indices where files[index].isPack { outcomes[index] = claimPack(files[index]) }
        return outcomes.map { $0 ?? .refused(reason: "not claimed") }
    }

    /// Claims files dropped one by one, grouped into bundles.
    private func claimLoose(_ files: [OutboxFile]) -> [ClaimOutcome] {
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
        // One check object for the batch: a process scan, when leases are not permitted, is made once.
        let writers = OpenWriterCheck()
        for (index, file) in files.enumerated() {
            let check = partnerChecks[file.partner] ?? checkPartner(file.partner)
            partnerChecks[file.partner] = check
            let verdict = switch check {
            case .success(let partner): checkFile(file, writers: writers).map { (partner, $0) }
            case .failure(let refusal): Result<(ODSCode, Int64), ClaimRefusal>.failure(refusal)
            }
            switch verdict {
            case .failure(.vanished):
                outcomes[index] = .refused(reason: "vanished")
            case .failure(.busy(let reason)):
                log(.info, "waiting for \(ReadableText.shown(file.name)): \(reason)", partner: try? check.get())
                outcomes[index] = .waiting(reason: reason)
            case .failure(.refused(let reason)):
                outcomes[index] = refuse(path: file.path, partner: file.partner, reason: reason)
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
        let offered = accepted.map { (partner: $0.partner, name: files[$0.index].name, size: $0.size) }
        for group in Self.batches(offered, maxFiles: settings.bundleMaxFiles, maxBytes: settings.bundleMaxBytes) {
            let id = BundleID.random()
            let partner = accepted[group[0]].partner
            var record = OutgoingRecord(bundleID: id, partner: partner, createdAt: now,
                                        expiresAt: now + RetryPolicy.milliseconds(settings.expiry))
            record.updatedAt = now
            let work = spool.outgoingWork(id)
            let entries = group.enumerated().map { position, member in
                let file = files[accepted[member].index]
                return OutgoingFile(bundleID: id, position: position, name: file.name, size: accepted[member].size,
                                    sourcePath: file.path, workPath: "\(work)/\(file.name)")
            }
            let detail = entries.count == 1 ? "claimed \(ReadableText.shown(entries[0].name)) from the outbox"
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
                // Its entry in work/out is synced below, with the other folders of the batch.
                try FileOperations.makeDirectory(spool.outgoingWork(id), mode: 0o700, syncingParent: false)
            } catch {
                log(.error, "creating the work folder failed: \(error)", bundle: id, partner: bundle.record.partner)
            }
            for (file, index) in zip(bundle.files, indexes) {
                // Only a rename: nothing at the path is opened or followed here, and the partner
                // folder is reached without following a link put in its place (RealFolder).
                do { try RealFolder.rename(file.sourcePath, to: file.workPath) } catch {
                    // The journal entry is finished by the next offer of this file or by recover().
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
    /// alone, and no two names in a bundle equal after Unicode case folding. Returns indexes
    /// into `files`.
    ///
    /// Why the names: a bundle may not hold `Report.pdf` and `report.pdf`, or `STRASSE.txt` and
    /// `straße.txt` (FORMAT.md §3.7, ``FileNameRule/checkDistinct(_:)``). Both can wait in one
    /// outbox folder, and a bundle holding both could never be sealed: it was retried until it
    /// expired, and neither record was delivered. The second name starts a new bundle instead.
    package static func batches(_ files: [(partner: ODSCode, name: String, size: Int64)], maxFiles: Int,
                                maxBytes: Int64) -> [[Int]] {
        var open: [ODSCode: (members: [Int], bytes: Int64, names: Set<[UInt8]>)] = [:]
        var order: [ODSCode] = []
        var done: [[Int]] = []
        for (index, file) in files.enumerated() {
            let key = FileNameRule.caseFoldKey(file.name)
            if var current = open[file.partner] {
                if current.members.count < maxFiles && current.bytes + file.size <= maxBytes
                    && !current.names.contains(key) {
                    current.members.append(index)
                    current.bytes += file.size
                    current.names.insert(key)
                    open[file.partner] = current
                    continue
                }
                done.append(current.members)
            } else {
                order.append(file.partner)
            }
            open[file.partner] = ([index], file.size, [key])
        }
        return done + order.compactMap { open[$0]?.members }
    }

    enum ClaimRefusal: Error {
        case refused(String)
        case busy(String)
        case vanished
    }

    func checkPartner(_ folder: String) -> Result<ODSCode, ClaimRefusal> {
        do {
            let partner = try ODSCode(folder)
            // The receiver refuses a bundle from itself as reflected (FORMAT.md §3.10): sending
            // one would only end in a non-delivery report.
            guard partner != own.org else {
                return .failure(.refused("\(folder) is this organisation itself; drop records into the folder of the partner they are for"))
            }
            guard try gateway.partners.resolvedCard(for: partner) != nil else {
                return .failure(.refused("\(folder) is not a known partner; import its identity card with `gatehouse partners add`"))
            }
            return .success(partner)
        } catch let error as FormatError {
            return .failure(.refused(error.detail))
        } catch {
            return .failure(.refused("\(error)"))
        }
    }

    /// The file's size if it may be sent: its name is publishable, and its descriptor says it is
    /// a regular file with one name that nobody has open for writing. The descriptor is closed
    /// again at once (a backlog of 100,000 files must not hold 100,000 descriptors).
    private func checkFile(_ file: OutboxFile, writers: OpenWriterCheck) -> Result<Int64, ClaimRefusal> {
        do { try FileNameRule.validate(file.name) } catch { return .failure(.refused(error.detail)) }
        switch OriginalFile.open(file.path, writers: writers) {
        case .ready(let source): return .success(Int64(source.size))
        case .busy(let reason): return .failure(.busy(reason))
        case .refused(let reason): return .failure(.refused(reason))
        case .vanished: return .failure(.vanished)
        }
    }

    private func finishClaim(_ pending: OutgoingFile, partner: ODSCode) -> ClaimOutcome {
        do {
            try FileOperations.makeDirectory(spool.outgoingWork(pending.bundleID), mode: 0o700)
            try moveOutOfOutbox(pending.sourcePath, to: pending.workPath)
        } catch {
            log(.error, "claiming \(pending.sourcePath) failed: \(error)", bundle: pending.bundleID, partner: partner)
            return .refused(reason: "\(error)")
        }
        unfinishedClaims[pending.sourcePath] = nil
        log(.info, "finished an interrupted claim", bundle: pending.bundleID, partner: partner, state: "queued")
        return .claimed(bundleID: pending.bundleID)
    }

    /// Moves a file that cannot be sent to `spool/failed/` with a reason file beside it. Only
    /// renames it: a FIFO or link moves without being opened or followed.
    public func refuse(path: String, partner: String?, reason: String) -> ClaimOutcome {
        let (folder, name) = DurableFile.split(path)
        do {
            try FailedFolder(root: spool.failed).take(Array(name.utf8), from: folder, reason:
                "not sent: \(ReadableText.shown(name)) for \(partner ?? "no partner"): \(reason)", now: clock.now())
        } catch {
            log(.error, "could not move \(path) to failed/: \(error)", partner: partner.flatMap { try? ODSCode($0) })
        }
        log(.warning, "refused \(ReadableText.shown(name)): \(reason)", partner: partner.flatMap { try? ODSCode($0) },
            state: "failed")
        return .refused(reason: reason)
    }
}
