import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

extension GatewayEngine {
    /// A receipt in this organisation's mailbox: the outgoing bundle becomes `acknowledged` only
    /// when the receipt is from the partner it was sent to, its signature verifies against that
    /// partner's pinned key, and it names the SHA-256 of the exact bundle sent.
    /// Returns false when it could not be handled now (it stays in the mailbox for next time).
    @discardableResult
    func receiveReceipt(_ id: BundleID, from receiver: ODSCode, name: String, mailbox: any MailboxTransport) async -> Bool {
        let local = "\(spool.work)/in/\(name)"
        do {
            removeTree(local)
            try await mailbox.fetch(name, from: own.org, to: local)
            defer { unlink(local) }
            // A receipt is a few hundred bytes; anything far larger is not one, and must not stay
            // in the mailbox to be fetched again on every round.
            guard let bytes = try Self.readReceipt(at: local) else {
                quarantineReceipt([], name: name, reason: "not a receipt: larger than the largest receipt (\(Receipt.maxLength) bytes)")
                try await mailbox.remove(name, from: own.org)
                return true
            }
            guard var record = try journal.outgoing(id.hex) else {
                quarantineReceipt(bytes, name: name, reason: "a receipt for bundle \(id), which this gateway never sent")
                try await mailbox.remove(name, from: own.org)
                return true
            }
            if record.state.isFinal {
                // Acknowledged just before a crash that came before its evidence was kept.
                if record.state == .acknowledged, !exists("\(spool.evidence)/out/\(id.hex).ghr") {
                    try? keepEvidence(bundle: spool.sealedBundle(id.hex), receipt: record.receipt ?? bytes, id: id.hex, direction: "out")
                }
                log(record.state == .acknowledged ? .info : .warning,
                    "ignoring a receipt for a bundle already \(record.state.rawValue)", bundle: id.hex, partner: receiver.value, state: record.state.rawValue)
                try await mailbox.remove(name, from: own.org)
                return true
            }
            let receipt: Receipt
            let sent: SHA256Digest
            do {
                receipt = try Receipt.parse(bytes)
                guard receipt.bundleID == id else { throw FormatError.malformed("the receipt is named \(id) but is about \(receipt.bundleID)") }
                let card = try gateway.partners.requireCard(for: receiver)
                guard let digest = record.bundleSHA256.flatMap({ [UInt8](hex: $0) }).flatMap(SHA256Digest.init(bytes:)) else {
                    throw FormatError.integrityCheckFailed("a receipt arrived before the bundle was sealed")
                }
                sent = digest
                let signer = try card.signer(receipt.receiverKeyID, signedAt: receipt.receivedAt, now: UInt64(max(0, clock.now() / 1000)))
                try receipt.verifySignature(from: try ODSCode(record.partner), key: signer.key, sender: own.org)
                if let note = signer.note {
                    log(.warning, "receipt accepted: \(note)", bundle: id.hex, partner: receiver.value)
                    audit(AuditEvent("signature-before-revocation", org: receiver.value, bundle: id.hex, detail: "receipt accepted; key \(receipt.receiverKeyID)"))
                }
            } catch let error as FormatError where error.category == .unknownKey {
                // Signed with the partner's new key before its new manifest arrived: wait for it.
                deferItem(name, error.detail, partner: receiver.value)
                return false
            } catch {
                // A receipt that does not verify is never an acknowledgement.
                quarantineReceipt(bytes, name: name, reason: "\(error)")
                audit(AuditEvent("receipt-rejected", org: receiver.value, bundle: id.hex, detail: Self.category("\(error)")))
                try await mailbox.remove(name, from: own.org)
                record.lastError = "a receipt from \(receiver) did not verify: \(error)"
                try journal.save(record)
                return true
            }
            record.receipt = bytes
            record.updatedAt = clock.now()
            // Both sides keep the raw bundle and the receipt as evidence (after an acknowledgement,
            // which releases the originals at once; the journal holds the receipt meanwhile).
            let sameBytes = receipt.bundleSHA256.constantTimeEquals(sent)
            if !(sameBytes && receipt.disposition == .processed) {
                try keepEvidence(bundle: spool.sealedBundle(id.hex), receipt: bytes, id: id.hex, direction: "out")
            }
            switch receipt.disposition {
            case .processed where sameBytes:
                try acknowledge(&record)
                try keepEvidence(bundle: spool.sealedBundle(id.hex), receipt: bytes, id: id.hex, direction: "out")
            case .processed:
                // Only a receipt for the exact bytes sent acknowledges; anything else is a failure.
                try fail(record, reason: "\(receiver) processed a bundle with digest \(receipt.bundleSHA256), not the \(sent) sent")
            case .failed(let reason):
                let altered = sameBytes ? "" : " (it received altered bytes: digest \(receipt.bundleSHA256), sent \(sent))"
                try fail(record, reason: "\(receiver) refused the bundle: \(reason)\(altered)")
            }
            try await mailbox.remove(name, from: own.org)
            return true
        } catch {
            log(.error, "handling receipt \(name) failed: \(error)", bundle: id.hex, partner: receiver.value)
            return false
        }
    }

    /// The receipt file's bytes, or nil when it is too large to be a receipt.
    static func readReceipt(at path: String) throws -> [UInt8]? {
        let source = try FileSource(path: path)
        guard source.size <= UInt64(Receipt.maxLength) else { return nil }
        return try FileOperations.read(at: path, limit: Receipt.maxLength) ?? []
    }

    /// The bundle is acknowledged: originals move to `spool/sent/<bundle id>/` (or are deleted,
    /// per retention) and the work files go.
    func acknowledge(_ record: inout OutgoingRecord) throws {
        let files = try journal.files(of: record.bundleID)
        if settings.keepSent {
            let folder = "\(spool.sent)/\(record.bundleID)"
            try FileOperations.makeDirectory(folder, mode: 0o700)
            try moveAll(files.filter { exists($0.workPath) }.map { ($0.workPath, "\(folder)/\($0.name)") })
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

    func quarantineReceipt(_ bytes: [UInt8], name: String, reason: String) {
        let folder = "\(spool.quarantine)/receipt-\(clock.now())-\(randomBytes(3).hexString)"
        try? FileOperations.makeDirectory(folder, mode: 0o700)
        try? FileOperations.createExclusively(at: "\(folder)/\(name)", contents: bytes, mode: 0o600)
        writeReason("RECEIPT REFUSED: \(reason)", to: "\(folder)/reason.txt")
        log(.error, "receipt \(name) refused: \(reason)")
    }
}
