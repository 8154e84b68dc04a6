import Foundation
import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

extension GatewayEngine {
    /// Collects everything waiting in this organisation's mailbox: bundles (verified, published,
    /// answered with a signed receipt) and receipts for bundles it sent.
    /// Returns the number of items handled (those that failed stay for the next round).
    @discardableResult
    public func collect() async -> Int {
        let names: [String]
        let mailbox: any MailboxTransport
        do {
            mailbox = try transport(for: own.org)
            names = try await mailbox.list(own.org)
        } catch {
            // Once per distinct failure, not every poll while the relay is down.
            // (A transport waiting out its backoff names the failure it waits after.)
            let text = "\(error)"
            let failure = text.range(of: " s after: ").map { String(text[$0.upperBound...]) } ?? text
            if failure != listingFailure { log(.error, "listing the mailbox failed: \(text)") }
            listingFailure = failure
            if listingFailingSince == nil { listingFailingSince = clock.now() }
            return 0
        }
        if listingFailure != nil {
            log(.info, "the mailbox can be listed again")
            listingFailure = nil
        }
        listingFailingSince = nil
        var handled = 0
        // Key manifests first: bundles and receipts signed with a partner's new key need them.
        let ordered = names.filter { if case .manifest = MailboxName.classify($0) { true } else { false } }
            + names.filter { if case .manifest = MailboxName.classify($0) { false } else { true } }
        for name in ordered {
            if let until = deferred[name], until > clock.now() { continue }
            let done: Bool
            switch MailboxName.classify(name) {
            case .manifest(let sender, _): done = await receiveManifest(from: sender, name: name, mailbox: mailbox)
            case .bundle(let id): done = await receiveBundle(id, name: name, mailbox: mailbox)
            case .receipt(let id, let receiver): done = await receiveReceipt(id, from: receiver, name: name, mailbox: mailbox)
            case .unknown: done = await quarantineUnknownItem(name, mailbox: mailbox)
            }
            // Only what was handled counts: an item that keeps failing must not make the
            // collector go round again at once (it waits like any other round).
            if done {
                handled += 1
                deferred[name] = nil
                deferredSince[name] = nil
                itemFailures[name] = nil
                keptLocal.remove(name)
            }
        }
        return handled + (await collectArriving(mailbox))
    }

    /// Waits until the own mailbox may hold new mail, or about `timeout`. The wait itself runs
    /// outside the actor, so sealing and delivering go on meanwhile.
    public nonisolated func waitForMail(upTo timeout: Duration) async {
        guard let mailbox = try? mailboxes(org) else {
            try? await Task.sleep(for: timeout)
            return
        }
        // Woken for uploads in progress too, where they can be followed (``collectArriving(_:)``).
        await mailbox.waitForMail(org, upTo: timeout, uploads: mailbox.followsUploads)
    }

    // MARK: Bundles

    /// Returns false when the bundle could not be handled now (it stays in the mailbox).
    @discardableResult
    ///
    /// With `arriving`, the bundle is an upload still in progress, followed into its own local copy.
    func receiveBundle(_ id: BundleID, name: String, mailbox: any MailboxTransport,
                       arriving: (download: IncomingDownload, local: String)? = nil) async -> Bool {
        // Set once the local copy is complete: only a complete copy may be kept between rounds
        // (a fetch cut off half-way must be fetched again, never judged).
        var complete = false
        do {
            // Deduplicate by bundle id: a bundle seen before is answered with the original receipt.
            if let seen = try journal.incoming(id) {
                try await answer(seen, id: id)
                // Answered before a crash that came before its evidence was kept: keep the receipt.
                if !exists("\(spool.evidence)/in/\(id.hex).ghr") { try? keepEvidence(bundle: nil, receipt: seen.receipt, id: id.hex, direction: "in") }
                try await mailbox.remove(name, from: own.org)
                log(.info, "duplicate answered with the original receipt", bundle: id, partner: seen.sender, state: seen.state.rawValue)
                return true
            }
            let local = arriving?.local ?? "\(spool.work)/in/\(id.hex).ghb"
            // A bundle waiting for its sender's newer manifest keeps its local copy: it is not
            // downloaded again at every look (a 50 MB one was, every 30 s).
            var download = arriving?.download
            if arriving == nil, (deferredSince[name] == nil && !keptLocal.contains(name)) || !exists(local) {
                removeTree(local)
                let maxBytes = UInt64(max(0, settings.limits.bundleMaxBytes))
                do {
                    if mailbox.fetchesProgressively {
                        // Opened while it downloads (FORMAT.md §3.10, "Opening in one pass").
                        download = IncomingDownload.start(name, from: own.org, to: local, maxBytes: maxBytes, mailbox: mailbox)
                        await download?.available(UInt64(BundleHeader.maxLength))
                        if download?.growing.progress.failure != nil { try await download?.complete() }
                    } else {
                        try await mailbox.fetch(name, from: own.org, to: local, maxBytes: maxBytes)
                    }
                } catch let tooLarge as MailboxItemTooLarge {
                    try await quarantineOversized(id, name: name, tooLarge, mailbox: mailbox)
                    return true
                }
            }
            let processed: Result<(record: IncomingRecord, context: PackContext?), any Error>
            do { processed = .success(try await process(local, id: id, waitForKeys: !holdIsOver(name), download: download)) } catch {
                processed = .failure(error)
            }
            // Never left writing behind a failure: the copy is whole, or gone, before going on.
            if let download { try await download.complete() }
            complete = true
            let (record, context) = try processed.get()
            try journal.insert(record, detail: record.reason ?? "published", context: context)
            if record.state == .published { notifyReceived(record, context: context) }
            // The receipt goes out as soon as the outcome is journalled; the evidence copies and
            // the audit entry follow (the journal holds the receipt, and a crash in between
            // answers the bundle again as a duplicate).
            let answered: Result<Bool, any Error>
            do { answered = .success(try await answer(record, id: id, audited: false)) } catch { answered = .failure(error) }
            if record.state == .held {
                heldRecorded(record)
            } else {
                audit(AuditEvent(record.state == .published ? "bundle-received" : "bundle-rejected", org: record.sender, bundle: id,
                                 sha256: record.bundleSHA256, detail: Self.category(record.reason)))
            }
            // A refused bundle's bytes are kept once, in quarantine (bounded); a held one's in
            // spool/held/ (bounded); a published one's in evidence.
            try? keepEvidence(bundle: record.state == .published ? local : nil, receipt: record.receipt, id: id.hex, direction: "in")
            if record.state != .published { unlink(local) }
            if try answered.get() { auditReceiptSent(record, id: id) }
            try await mailbox.remove(name, from: own.org)
            return true
        } catch let error as DeferredItem {
            if let arriving { unlink(arriving.local) }  // (collected again once published)
            deferItem(name, error.description, partner: nil)
            return false
        } catch {
            // Nothing was journalled, or the receipt could not be sent: the bundle stays in the
            // mailbox and is handled again (as a duplicate if it was journalled) next time.
            // Logged once per distinct failure, not at every round. Its local copy is kept, so a
            // bundle waiting for disk space is not downloaded again at every round.
            if complete && arriving == nil { keptLocal.insert(name) } else { keptLocal.remove(name) }
            if let arriving { unlink(arriving.local) }  // (the published bundle is collected as any other)
            logFailureOnce(name, "receiving \(name) failed: \(error)", bundle: id)
            return false
        }
    }

    /// Sends the receipt for a journalled bundle, to a sender that can be answered: a pinned
    /// partner, or the claimed sender of a held bundle (FORMAT.md §4.1). Any other bundle from
    /// an organisation not pinned here is never answered. Never this organisation itself.
    /// Returns whether a receipt was sent; with `audited`, the audit entry is written here too.
    @discardableResult
    func answer(_ record: IncomingRecord, id: BundleID, audited: Bool = true) async throws -> Bool {
        // Never this organisation itself: a bundle "from" it is refused as reflected, and its
        // receipt would only land in the own mailbox as a receipt for a bundle sent elsewhere.
        guard let sender = record.sender, sender != own.org else { return false }
        guard (try? gateway.partners.resolvedCard(for: sender)) != nil else {
            // Not pinned, so its address is unknown: a held bundle's receipt goes to the mailbox
            // of that name on the server this gateway collects from (the one the bundle came
            // through), under the 10-minute rule below (the sender is not proven).
            guard record.state == .held, takeUnprovenAllowance(sender) else { return false }
            try await sendReceipt(record.receipt, for: id, to: sender, via: own.org)
            markHeldAnswered(id)
            if audited { auditReceiptSent(record, id: id) }
            return true
        }
        // A refusal made before the sender was proven (its claimed name is anyone's to write) is
        // answered at most once per claimed sender every 10 minutes: a flood of junk naming a
        // partner must not fill that partner's mailbox with our receipts.
        if case .failed(let reason)? = try? Receipt.parse(record.receipt).disposition, !Self.provenRefusals.contains(reason) {
            guard takeUnprovenAllowance(sender) else { return false }
        }
        try await sendReceipt(record.receipt, for: id, to: sender)
        if audited { auditReceiptSent(record, id: id) }
        return true
    }

    func auditReceiptSent(_ record: IncomingRecord, id: BundleID) {
        let disposition = switch record.state {
        case .published: "processed"
        case .rejected: "failed"
        case .held: "held"
        }
        audit(AuditEvent("receipt-sent", org: record.sender, bundle: id, detail: disposition))
    }

    /// Verifies and publishes the private copy `local` (in its workflow's folder), or quarantines
    /// it. Returns the journal record with the signed receipt, and the verified context. With
    /// `waitForKeys`, a signature by a key the sender's manifest held here does not name throws
    /// ``DeferredItem``; without, it is refused.
    ///
    /// With `download`, `local` is still being downloaded: the header is read from what has
    /// arrived, the bundle is opened as the rest arrives (off the concurrency pool), and anything
    /// that needs the whole copy (a refusal's digest, a hold) waits for the download first.
    func process(_ local: String, id: BundleID, waitForKeys: Bool = true,
                 download: IncomingDownload? = nil) async throws -> (record: IncomingRecord, context: PackContext?) {
        let now = clock.now()
        // The digest of the exact bytes received: from the verifier's own pass when the bundle
        // opens, hashed separately only to answer a refusal.
        var known: SHA256Digest?
        let source: any ByteSource = if let download { FollowingSource(download.growing) } else { try FileSource(path: local) }
        let header: BundleHeader
        do {
            header = try BundleVerifier.readHeader(from: source).header
            guard header.bundleID == id else { throw FormatError.malformed("the bundle is named \(id) but its header says \(header.bundleID)") }
        } catch let error as FormatError where error.category != .io {
            // (Reading the copy failed, a download cut short: this gateway's problem, never a verdict.)
            return (try await reject(local, id: id, sender: nil, digest: wholeDigest(local, &known, download), reason: .malformed,
                               detail: error.description, at: now), nil)
        }
        // A bundle that comes back from someone else with this organisation as its sender (its
        // own bundle to a partner, put into the own mailbox by that partner) was never meant for
        // it, even though it can decrypt its self stanza.
        if header.sender == own.org {
            return (try await reject(local, id: id, sender: header.sender, digest: wholeDigest(local, &known, download), reason: .notARecipient,
                               detail: "bundle \(id) is from \(own.org) itself (reflected back into its own mailbox)",
                               at: now), nil)
        }
        // A bundle older than the senders' expiry (plus the clock tolerance) was given up by its
        // sender: publishing it now could duplicate a record re-sent another way. One dated
        // further ahead than the tolerance would never expire and wait here for ever.
        // (Clamped: the header is not verified yet, and a huge value must not trap.)
        let tolerance = RetryPolicy.milliseconds(settings.limits.clockTolerance) / 1000
        let ageSeconds = now / 1000 - Int64(clamping: header.createdAt)
        if ageSeconds > RetryPolicy.milliseconds(settings.expiry) / 1000 + tolerance {
            return (try await reject(local, id: id, sender: header.sender, digest: wholeDigest(local, &known, download), reason: .expired,
                               detail: "bundle \(id): created \(ageSeconds / 3600) hours ago, past the \(settings.expiry) expiry",
                               at: now), nil)
        }
        if -ageSeconds > tolerance {
            return (try await reject(local, id: id, sender: header.sender, digest: wholeDigest(local, &known, download), reason: .expired,
                               detail: "bundle \(id): dated \(-ageSeconds) s ahead of this gateway's clock, "
                                   + "beyond [limits] clock_tolerance", at: now), nil)
        }
        // Not pinned here: held unopened for its card, unless the held area is at its bounds
        // (then refused below as before, unknown-sender).
        if try isToBeHeld(header), let held = try await hold(local, id: id, header: header, digest: wholeDigest(local, &known, download), at: now) {
            return (held, nil)
        }
        // The default root ([publish] or spool/received/) and the access every published file
        // and folder gets, whichever folder the workflow picks.
        let target = publishTarget
        do {
            let manifest: Manifest
            var signerNote: String?
            var openedLength: UInt64?
            let destination: String
            if let published = publishedFolder(of: id, from: header.sender) {
                // Published before a crash, not yet journalled: the published manifest is the
                // verified one (it was written only after every check passed).
                destination = published
                manifest = try Manifest.parse(try FileOperations.read(at: "\(destination)/\(StagedPublisher.manifestRawName)",
                                                                       limit: PayloadLayout.maxManifestLength) ?? [])
            } else {
                // The workflow, hence the folder, is known once the manifest has verified.
                let gateway = self.gateway, limits = settings.limits, sender = header.sender
                let open: @Sendable () throws -> OpenedBundle = {
                    let place: (Manifest) throws -> String = { manifest in
                        let root = self.publishRoot(for: manifest.context.workflow)
                        try target.prepareSenderFolder(sender.value, in: root)
                        return target.destination(sender: sender.value, bundle: id.hex, in: root)
                    }
                    let time = UInt64(max(0, now / 1000))
                    if let download {
                        return try gateway.open(FollowingSource(download.growing), stagingParent: target.staging, now: time,
                                                limits: limits, access: target.access, destination: place)
                    }
                    return try gateway.open(local, stagingParent: target.staging, now: time, limits: limits,
                                            access: target.access, destination: place)
                }
                let opened = try await download == nil ? open() : OwnThread.run("gatehouse-open", open)
                try await download?.complete()
                destination = opened.destination
                manifest = opened.manifest
                signerNote = opened.signerNote
                known = opened.envelope.bundleSHA256
                openedLength = opened.envelope.length
                // The sender's view of the directory, now that its signature verified (DIRECTORY.md §7.2).
                compareDirectoryCheckpoint(opened.envelope.header.directoryCheckpoint, in: .bundle,
                                           from: header.sender, bundle: id)
            }
            let bytesDigest = try await wholeDigest(local, &known, download)
            let receipt = try Receipt.signed(
                bundleID: id, bundleSender: header.sender, receiver: own.org, bundleSHA256: bytesDigest,
                receivedAt: UInt64(now / 1000), disposition: .processed, manifestSHA256: SHA256Hasher.hash(manifest.encoded),
                fileDigests: manifest.files.map(\.sha256), directoryCheckpoint: directoryCheckpoint(),
                signingKey: try gateway.keys.loadSigningKey())
            let files = manifest.files.map { ["name": $0.name, "size": String($0.size), "sha256": $0.sha256.hex] }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: files, options: [.sortedKeys]), as: UTF8.self)
            log(.info, "published \(manifest.files.count) file(s)", bundle: id, partner: header.sender, state: "published")
            DaemonMetrics.opened(bytes: openedLength ?? (try? FileSource(path: local).size) ?? 0, sender: header.sender)
            if let note = signerNote {
                // Accepted only because it was signed before its key's revocation: the verdict is recorded.
                log(.warning, "accepted: \(note)", bundle: id, partner: header.sender)
                audit(AuditEvent("signature-before-revocation", org: header.sender, bundle: id, detail: "accepted; key \(header.senderKeyID)"))
            }
            let record = IncomingRecord(bundleID: id, sender: header.sender, state: .published,
                                        receivedAt: now, bundleSHA256: bytesDigest.hex, publishedPath: destination,
                                        files: json, receipt: receipt.encoded)
            return (record, manifest.context)
        } catch let error as FormatError {
            // Signed with a key the sender's manifest held here does not name yet: its newer
            // manifest is usually a moment behind (the expiry check above bounds the wait).
            if error.category == .unknownKey && waitForKeys { throw DeferredItem(description: error.detail) }
            // Reading the local copy or writing the staging folder failed (a full disk): this
            // gateway's problem, not the bundle's. It stays in the mailbox for the next round;
            // a `failed` receipt would make the sender give up a good bundle.
            if error.category == .io { throw error }
            let reason = ReceiptReason(error.category) ?? .malformed
            return (try await reject(local, id: id, sender: header.sender, digest: wholeDigest(local, &known, download), reason: reason,
                               detail: error.description, at: now), nil)
        }
    }

    /// The digest of the exact bytes received: `known` (from the opener's own pass), or hashed
    /// from the whole copy (after its download) only to answer a refusal.
    func wholeDigest(_ local: String, _ known: inout SHA256Digest?, _ download: IncomingDownload?) async throws -> SHA256Digest {
        if let known { return known }
        try await download?.complete()
        let digest = try digest(of: local)
        known = digest
        return digest
    }

    /// Refusals that can only happen after the outer signature verified under the sender's key:
    /// their sender is proven.
    static let provenRefusals: Set<ReceiptReason> = [.notARecipient, .decryptionFailed, .integrityCheckFailed, .decompressionFailed, .tooLarge]

    /// Quarantines a refused bundle with a readable reason and signs a `failed` receipt.
    func reject(_ local: String, id: BundleID, sender: ODSCode?, digest: SHA256Digest, reason: ReceiptReason,
                detail: String, at now: Int64) throws -> IncomingRecord {
        let folder = "\(spool.quarantine)/\(id.hex)"
        try FileOperations.makeDirectory(folder, mode: 0o700)
        // Grouped by sender only when its signature proved it (see QuarantineIndex).
        let claimed = sender?.value ?? IncomingRecord.unknownSender
        let group = Self.provenRefusals.contains(reason) ? claimed : QuarantineIndex.unverified
        writeReason("REFUSED (\(reason)): \(detail)\nclaimed sender: \(claimed)\ngroup: \(group)", to: "\(folder)/reason.txt")
        // A second name for the same bytes (work/ and quarantine/ are in the same spool): no copy,
        // whatever the bundle's size. The quarantine's is the only copy kept (evidence/in keeps
        // the receipt), so removing an old quarantine item frees its space.
        if link(local, "\(folder)/\(id.hex).ghb") != 0 && errno != EEXIST {
            log(.error, "keeping the refused bundle in quarantine failed: \(String(cString: strerror(errno)))", bundle: id)
        }
        keepQuarantineBounded(folder, group: group)
        let senderCode = sender ?? own.org
        let receipt = try Receipt.signed(bundleID: id, bundleSender: senderCode, receiver: own.org, bundleSHA256: digest,
                                         receivedAt: UInt64(now / 1000), disposition: .failed(reason), manifestSHA256: nil,
                                         fileDigests: [], directoryCheckpoint: directoryCheckpoint(),
                                         signingKey: try gateway.keys.loadSigningKey())
        log(.error, "rejected (\(reason)): \(detail)", bundle: id, partner: sender, state: "rejected")
        return IncomingRecord(bundleID: id, sender: sender, state: .rejected, receivedAt: now, bundleSHA256: digest.hex,
                              reason: "\(reason): \(detail)", receipt: receipt.encoded)
    }

    /// Puts `receipt` into `sender`'s mailbox: at the address pinned for it, or on the server
    /// that `via`'s mailbox is on (the own one, for a sender not pinned here).
    func sendReceipt(_ receipt: [UInt8], for id: BundleID, to sender: ODSCode, via: ODSCode? = nil) async throws {
        let local = "\(spool.work)/in/\(id.hex).\(own.org.value).ghr"
        removeTree(local)
        // Scratch: the receipt is in the journal, and the upload itself is made durable.
        try FileOperations.createScratch(at: local, contents: receipt, mode: 0o600)
        defer { unlink(local) }
        // A held receipt has a name of its own: the final one may follow before it is collected.
        let held = (try? Receipt.parse(receipt))?.disposition.isFinal == false
        let name = held ? MailboxName.heldReceipt(id, from: own.org) : MailboxName.receipt(id, from: own.org)
        try await transport(for: via ?? sender).deliver(local, to: sender, as: name)
    }

    /// Keeps the bundle (moved, never copied) and the receipt in `evidence/<direction>/`.
    ///
    /// One sync of the evidence folder makes both names durable (the work folder the bundle
    /// leaves is not synced: see ``moveIntoPlace(_:)``). The receipt's own bytes are not synced:
    /// the journal committed them before this is called, so after a power cut this copy can be
    /// empty, never the journal's (`gatehouse receipt show` reads the journal). The bundle's
    /// bytes are as durable as they were: synced when sealed (out), a fetched copy (in).
    func keepEvidence(bundle: String?, receipt: [UInt8], id: String, direction: String) throws {
        let folder = "\(spool.evidence)/\(direction)"
        if let bundle, exists(bundle), rename(bundle, "\(folder)/\(id).ghb") != 0 {
            throw SystemError("moving \(bundle) to", "\(folder)/\(id).ghb")
        }
        try FileOperations.replaceAtomically(at: "\(folder)/\(id).ghr", contents: receipt, mode: 0o600, sync: .none)
        try DurableFile.syncFolder(folder)
    }

    nonisolated func digest(of path: String) throws -> SHA256Digest {
        let source = try FileSource(path: path)
        let hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return hasher.finalize()
    }
}
