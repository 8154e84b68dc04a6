import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

extension GatewayEngine {
    /// A receipt in this organisation's mailbox (FORMAT.md §4.2). It counts only when it verifies,
    /// by ``ReceiptAcceptance``, under a signing key of the organisation the journal says the
    /// bundle was addressed to, and names that organisation as its receiver; then the bundle
    /// becomes `acknowledged` when it names the SHA-256 of the exact bundle sent and says
    /// `processed`, and `failed` otherwise. The organisation in the file name (`named`) is only
    /// a label anyone can choose: it never selects the key. A receipt that does not count is
    /// quarantined and audited and changes no state.
    /// Returns false when it could not be handled now (it stays in the mailbox for next time).
    @discardableResult
    func receiveReceipt(_ id: BundleID, from named: ODSCode, name: String, mailbox: any MailboxTransport) async -> Bool {
        let local = "\(spool.work)/in/\(name)"
        do {
            removeTree(local)
            // A receipt is a few hundred bytes; anything larger is not one, is not downloaded, and
            // must not stay in the mailbox to be looked at again on every round.
            var tooLarge = false
            do { try await mailbox.fetch(name, from: own.org, to: local, maxBytes: UInt64(Receipt.maxLength)) } catch is MailboxItemTooLarge {
                tooLarge = true
            }
            defer { unlink(local) }
            guard !tooLarge, let bytes = try Self.readReceipt(at: local) else {
                quarantineReceipt([], name: name, reason: "not a receipt: larger than the largest receipt (\(Receipt.maxLength) bytes)")
                try await mailbox.remove(name, from: own.org)
                return true
            }
            guard var record = try journal.outgoing(id) else {
                return try await receiveOtherReceipt(bytes, id: id, named: named, name: name, mailbox: mailbox)
            }
            let addressee = record.partner
            let accepted: ReceiptAcceptance.Accepted
            do {
                let card = try gateway.partners.requireResolvedCard(for: addressee)
                accepted = try ReceiptAcceptance.check(bytes, id: id, addressee: card, sender: own.org, now: UInt64(max(0, clock.now() / 1000)))
            } catch let error as FormatError where waitsForManifest(error, receipt: bytes, name: name) {
                // Signed with the partner's new key before its new manifest arrived: wait for it.
                deferItem(name, error.detail, partner: addressee)
                return false
            } catch {
                // A receipt that does not count is never an acknowledgement, nor a failure.
                rejectReceipt(bytes, name: name, id: id, claimed: named, reason: "\(error)")
                try await mailbox.remove(name, from: own.org)
                return true
            }
            let receipt = accepted.receipt
            compareDirectoryCheckpoint(receipt.directoryCheckpoint, in: .receipt, from: addressee,
                                       bundle: receipt.bundleID)
            // A receipt cannot be older than its bundle. (Judged at its own date, a receipt
            // backdated to before a key's revocation would pass under the revoked key.)
            guard receipt.receivedAt + KeyManifest.clockSkew >= UInt64(max(0, record.createdAt / 1000)) else {
                rejectReceipt(bytes, name: name, id: id, claimed: named,
                              reason: "the receipt is dated \(RFC3339.format(receipt.receivedAt) ?? "?"), before bundle \(id) was made")
                try await mailbox.remove(name, from: own.org)
                return true
            }
            if let note = accepted.signer.note {
                log(.warning, "receipt accepted: \(note)", bundle: id, partner: addressee)
                audit(AuditEvent("signature-before-revocation", org: addressee, bundle: id, detail: "receipt accepted; key \(receipt.receiverKeyID)"))
            }
            if record.state.isFinal {
                // Acknowledged just before a crash that came before its evidence was kept.
                if record.state == .acknowledged, !exists("\(spool.evidence)/out/\(id.hex).ghr") {
                    try? keepEvidence(bundle: spool.sealedBundle(id), receipt: record.receipt ?? bytes, id: id.hex, direction: "out")
                }
                log(record.state == .acknowledged ? .info : .warning,
                    "ignoring a receipt for a bundle already \(record.state.rawValue)", bundle: id, partner: addressee, state: record.state.rawValue)
                try await mailbox.remove(name, from: own.org)
                return true
            }
            guard let sent = record.bundleSHA256.flatMap({ [UInt8](hex: $0) }).flatMap(SHA256Digest.init(bytes:)) else {
                rejectReceipt(bytes, name: name, id: id, claimed: named, reason: "a receipt arrived before the bundle was sealed")
                try await mailbox.remove(name, from: own.org)
                return true
            }
            if case .held(let reason) = receipt.disposition {
                let sameBytes = receipt.bundleSHA256.constantTimeEquals(sent)
                try markHeld(&record, by: addressee, reason: reason, sameBytes: sameBytes, receipt: bytes)
                try await mailbox.remove(name, from: own.org)
                return true
            }
            record.receipt = bytes
            record.updatedAt = clock.now()
            // Both sides keep the raw bundle and the receipt as evidence (after an acknowledgement,
            // which releases the originals at once; the journal holds the receipt meanwhile).
            let sameBytes = receipt.bundleSHA256.constantTimeEquals(sent)
            if !(sameBytes && receipt.disposition == .processed) {
                try keepEvidence(bundle: spool.sealedBundle(id), receipt: bytes, id: id.hex, direction: "out")
            }
            switch receipt.disposition {
            case .processed where sameBytes:
                try acknowledge(&record)
                try keepEvidence(bundle: spool.sealedBundle(id), receipt: bytes, id: id.hex, direction: "out")
            case .processed:
                // Only a receipt for the exact bytes sent acknowledges; anything else is a failure.
                try fail(record, reason: "\(addressee) processed a bundle with digest \(receipt.bundleSHA256), not the \(sent) sent")
            case .failed(let reason):
                let altered = sameBytes ? "" : " (it received altered bytes: digest \(receipt.bundleSHA256), sent \(sent))"
                try fail(record, reason: "\(addressee) refused the bundle: \(reason)\(altered)")
            case .held:
                break  // handled above
            }
            try await mailbox.remove(name, from: own.org)
            return true
        } catch {
            log(.error, "handling receipt \(name) failed: \(error)", bundle: id, partner: named)
            return false
        }
    }

    /// The partner's verified `held` receipt: the bundle, not final, is held by it (FORMAT.md
    /// §4.2). Only a bundle not yet held moves; the receipt is kept in the journal (`receipt
    /// show`) until the final one replaces it. Throws when the journal cannot be written (the
    /// receipt then stays in the mailbox for the next round).
    func markHeld(_ record: inout OutgoingRecord, by addressee: ODSCode, reason: ReceiptReason, sameBytes: Bool,
                  receipt: [UInt8]) throws {
        guard record.state != .held else {
            log(.info, "ignoring a held receipt for a bundle already held", bundle: record.bundleID,
                partner: addressee, state: "held")
            return
        }
        let words = reason == .unknownSender ? "they have not added your card" : "\(reason)"
        let altered = sameBytes ? "" : " (it holds altered bytes: the bundle changed on the way)"
        record.state = .held
        record.lastError = "held by \(addressee): \(words)\(altered)"
        record.receipt = receipt
        record.updatedAt = clock.now()
        // Never over a final state (the journal refuses that): a replayed held receipt cannot
        // reopen a bundle that was acknowledged or failed meanwhile.
        guard try journal.save(record, detail: record.lastError) else { return }
        log(.warning, record.lastError ?? "held", bundle: record.bundleID, partner: addressee, state: "held")
        audit(AuditEvent("receipt-held", org: addressee, bundle: record.bundleID, sha256: record.bundleSHA256,
                         detail: "\(reason)"))
    }

    /// A receipt about no bundle this gateway sent: a partner's confirmation of one of the own
    /// key manifests, or something to quarantine.
    private func receiveOtherReceipt(_ bytes: [UInt8], id: BundleID, named: ODSCode, name: String,
                                     mailbox: any MailboxTransport) async throws -> Bool {
        do {
            // The ledger of the organisation the name claims is only where to look: the
            // receipt is then checked against the key of the partner that ledger is about.
            if try receiveManifestReceipt(bytes, id: id, partner: named, name: name) == nil {
                rejectReceipt(bytes, name: name, id: id, claimed: named, reason: "a receipt for bundle \(id), which this gateway never sent")
            }
        } catch let error as FormatError where waitsForManifest(error, receipt: bytes, name: name) {
            deferItem(name, error.detail, partner: named)
            return false
        } catch let error as FormatError {
            rejectReceipt(bytes, name: name, id: id, claimed: named, reason: "\(error)")
        }
        try await mailbox.remove(name, from: own.org)
        return true
    }

    /// True when a receipt refused for `error` may yet count once a newer key manifest of its
    /// claimed signer arrives: its key id is unknown, it is not the key of another organisation
    /// pinned here (a partner signing in another's name), and it has not waited
    /// `unknown_sender_hold` already (anyone can invent a key id).
    func waitsForManifest(_ error: FormatError, receipt bytes: [UInt8], name: String) -> Bool {
        guard error.category == .unknownKey, !holdIsOver(name) else { return false }
        guard let keyID = try? Receipt.parse(bytes).receiverKeyID else { return false }
        let cards = (try? gateway.partners.list()) ?? []
        return !cards.contains { $0.manifest.record(for: keyID) != nil } && own.manifest.record(for: keyID) == nil
    }

    /// Quarantines and audits a receipt that does not count; nothing else changes.
    func rejectReceipt(_ bytes: [UInt8], name: String, id: BundleID, claimed: ODSCode, reason: String) {
        quarantineReceipt(bytes, name: name, reason: reason, claimed: claimed.value)
        audit(AuditEvent("receipt-rejected", org: claimed, bundle: id, detail: Self.category(reason)))
    }

    /// The receipt file's bytes, or nil when it is too large to be a receipt.
    static func readReceipt(at path: String) throws -> [UInt8]? {
        let source = try FileSource(path: path)
        guard source.size <= UInt64(Receipt.maxLength) else { return nil }
        return try FileOperations.read(at: path, limit: Receipt.maxLength) ?? []
    }

    /// The bundle is acknowledged: originals move to `spool/sent/<bundle id>/` (a pack as its
    /// folder; or are deleted, per retention) and the work files go.
    func acknowledge(_ record: inout OutgoingRecord) throws {
        let files = try journal.files(of: record.bundleID)
        if let name = try packName(of: record.bundleID) {
            if settings.keepSent {
                try movePack(record.bundleID, named: name, to: "\(spool.sent)/\(record.bundleID)")
            } else {
                deletePack(record.bundleID)
            }
        } else if settings.keepSent {
            let folder = "\(spool.sent)/\(record.bundleID)"
            // Two syncs before the acknowledgement is journalled: the names in the new folder,
            // then the folder's own entry in sent/ (the work folder left behind goes at once).
            try FileOperations.makeDirectory(folder, mode: 0o700, syncingParent: false)
            try moveIntoPlace(files.filter { exists($0.workPath) }.map { ($0.workPath, "\(folder)/\($0.name)") })
            try DurableFile.syncFolder(spool.sent)
        } else {
            for file in files { removeTree(file.workPath) }
        }
        rmdir(spool.outgoingWork(record.bundleID))
        record.state = .acknowledged
        record.lastError = nil
        try journal.save(record, detail: "receipt verified")
        log(.info, "acknowledged", bundle: record.bundleID, partner: record.partner, state: "acknowledged")
        DaemonMetrics.finished(record, now: record.updatedAt)
        audit(AuditEvent("receipt-verified", org: record.partner, bundle: record.bundleID, sha256: record.bundleSHA256))
    }

    func quarantineReceipt(_ bytes: [UInt8], name: String, reason: String, claimed: String = "unknown") {
        let folder = newQuarantineFolder("receipt")
        try? FileOperations.makeDirectory(folder, mode: 0o700)
        try? FileOperations.createExclusively(at: "\(folder)/\(name)", contents: bytes, mode: 0o600)
        writeReason("RECEIPT REFUSED: \(reason)\nclaimed sender: \(claimed)\ngroup: \(QuarantineIndex.unverified)", to: "\(folder)/reason.txt")
        log(.error, "receipt \(name) refused: \(reason)")
        keepQuarantineBounded(folder, group: QuarantineIndex.unverified)
    }
}
