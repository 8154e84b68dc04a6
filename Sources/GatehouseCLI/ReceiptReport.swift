import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// An outgoing bundle's stored receipt, checked again against the partner's pinned card and put
/// in plain words (`gatehouse receipt show`, `gatehouse send --wait`).
///
/// The checks are the daemon's (FORMAT.md §4): the receipt parses strictly, is about this
/// bundle, comes from the partner the bundle went to, is signed by a key the partner's manifest
/// held here accepts for a signature made at `received_at` (the evidence rule of §5.1: judged as
/// of when it signed), and the signature verifies. A receipt that fails any check is an error,
/// never shown as verified.
struct ReceiptReport: Encodable {
    struct File: Encodable { let name: String; let size: Int64; let sha256: String? }

    let bundleID: String, partner: String, partnerName: String, sender: String
    let state: String
    let disposition: String
    let reason: String?
    let receivedAt: String
    let bundleSHA256: String
    let sentSHA256: String?
    let bundleMatches: Bool
    let manifestSHA256: String?
    let files: [File]
    let signerKeyID: String
    let rootFingerprint: String
    let note: String?
    let verdict = "verified"

    enum CodingKeys: String, CodingKey {
        case bundleID = "bundle_id", partner, partnerName = "partner_name", sender, state, disposition, reason
        case receivedAt = "received_at", bundleSHA256 = "bundle_sha256", sentSHA256 = "sent_sha256"
        case bundleMatches = "bundle_matches", manifestSHA256 = "manifest_sha256", files
        case signerKeyID = "signer_key_id", rootFingerprint = "root_fingerprint", note, verdict
    }

    /// True when the receipt acknowledges the bundle: processed, for the exact bytes sent.
    var acknowledges: Bool { disposition == "processed" && bundleMatches }

    /// Loads and verifies the receipt of outgoing bundle `record`. Throws a ``CommandFailure``
    /// when there is none yet, or when it does not verify (with the status of the check that failed).
    init(_ record: OutgoingRecord, journal: any Journal, home: GatehouseHome) throws {
        let id = record.bundleID
        guard let bytes = record.receipt else {
            throw CommandFailure(
                status: .notAcknowledged,
                message: "bundle \(id) to \(record.partner) has no receipt yet: it is \(record.state.rawValue)\(record.lastError.map { " (\($0))" } ?? "")",
                hint: record.state.isFinal ? "`gatehouse status \(id)` shows its history"
                                           : "a running gateway (`gatehouse run`) records the receipt when it arrives; `gatehouse status \(id)` shows where the bundle is")
        }
        let own = try KeyStore(home: home).loadOwnCard()
        let partner = record.partner
        let store = PartnerStore(home: home)
        // A partner removed since (`partners remove`): its card was kept for exactly this.
        let removed = try store.resolvedCard(for: partner) == nil ? store.removedCards(for: partner).first : nil
        let card = try removed?.card ?? store.requireResolvedCard(for: partner)
        let receipt: Receipt
        let signer: SignerKey
        do {
            // The daemon's rule (FORMAT.md §4.2), judged as of when the receipt was signed (the
            // evidence rule of §5.1: was the key good then?).
            let receivedAt = (try? Receipt.parse(bytes))?.receivedAt ?? 0
            let accepted = try ReceiptAcceptance.check(bytes, id: id, addressee: card, sender: own.org, now: receivedAt)
            receipt = accepted.receipt
            signer = accepted.signer
        } catch {
            let status = ErrorReport.report(error).status
            throw CommandFailure(
                status: status,
                message: "the receipt stored for bundle \(id) does NOT verify against \(partner)'s pinned card: \(error.detail)",
                hint: "do not rely on it; the journal's copy may have been altered (the copy kept as evidence is spool/evidence/out/\(id).ghr); tell your security officer")
        }
        let files = try journal.files(of: id)
        let digests = receipt.fileDigests.map(\.hex)
        bundleID = id.hex
        self.partner = partner.value
        partnerName = card.name
        sender = own.org.value
        state = record.state.rawValue
        switch receipt.disposition {
        case .processed: disposition = "processed"; reason = nil
        case .failed(let why): disposition = "failed"; reason = why.description
        case .held(let why): disposition = "held"; reason = why.description
        }
        receivedAt = RFC3339.format(receipt.receivedAt) ?? String(receipt.receivedAt)
        bundleSHA256 = receipt.bundleSHA256.hex
        sentSHA256 = record.bundleSHA256
        bundleMatches = record.bundleSHA256 == receipt.bundleSHA256.hex
        manifestSHA256 = receipt.manifestSHA256?.hex
        // The receipt's digests are in manifest order, which is the journal's file order.
        self.files = files.enumerated().map { File(name: $1.name, size: $1.size, sha256: digests.count == files.count ? digests[$0] : nil) }
        signerKeyID = receipt.receiverKeyID.description
        rootFingerprint = card.fingerprint
        let kept = removed.map { "\(partner) is no longer a partner: checked against its card kept in \($0.path)" }
        note = [signer.note, kept].compactMap { $0 }.joined(separator: "; ").nilIfEmpty
    }

    /// The receipt in plain words.
    func printText() {
        let who = "\(partner) (\(partnerName))"
        print("Receipt for bundle \(bundleID): \(verdict)")
        switch (disposition, bundleMatches) {
        case ("processed", true):
            print("  \(who) received the bundle from \(sender) exactly as sent, checked every signature and digest, and published its files.")
        case ("processed", false):
            print("  \(who) processed a bundle with other bytes than those sent: this is NOT an acknowledgement.")
        case ("held", _):
            print("  \(who) HOLDS the bundle from \(sender) unopened (\(reason ?? "unknown-sender"): it has not added "
                  + "\(sender)'s card). Not final: it is opened as soon as the card is added, and a processed or failed "
                  + "receipt follows.")
        default:
            print("  \(who) REFUSED the bundle from \(sender): \(reason ?? "no reason given").")
            if !bundleMatches { print("  It received altered bytes: the bundle changed on the way.") }
        }
        print("  received at:   \(receivedAt) (\(partner)'s clock)")
        for file in files {
            print("  file:          \(file.name), \(file.size) bytes\(file.sha256.map { ", sha256 \($0)" } ?? "")")
        }
        print("  bundle sha256: \(bundleSHA256)\(bundleMatches ? " (the bytes sent)" : "; sent: \(sentSHA256 ?? "not recorded")")")
        if let manifestSHA256 { print("  manifest:      sha256 \(manifestSHA256)") }
        print("  signed by:     \(partner)'s signing key \(signerKeyID), under the root pinned here (fingerprint \(rootFingerprint))")
        if let note { print("  note:          \(note)") }
        print("  bundle state:  \(state)")
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}
