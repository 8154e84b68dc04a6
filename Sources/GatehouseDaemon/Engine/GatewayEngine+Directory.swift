import GatehouseFormat
import GatehouseKit
import GatehouseNotify

extension GatewayEngine {
    /// The signed checkpoint of the directory this gateway trusts, for its receipts to carry
    /// (FORMAT.md §4.1); nil when it follows no network.
    func directoryCheckpoint() -> [UInt8]? {
        DirectoryClient(home: gateway.home).trustedCheckpoint()
    }

    /// Where a partner's checkpoint came from: what the log, the audit and the alarm name.
    enum CheckpointCarrier: String {
        case receipt = "receipt"
        case bundle = "bundle header"
    }

    /// Compares the checkpoint a partner's receipt or bundle header carries (FORMAT.md §3.1,
    /// §4.1) with this gateway's copy of the directory (DIRECTORY.md §7.2): a contradiction is
    /// proof that the authority showed the two gateways different logs, kept as evidence, logged
    /// and audited; `doctor` and `/healthz` then report it, and new directory entries are not
    /// trusted. Called only once the carrier's signature verified. A checkpoint of another
    /// network, or one the network's key did not sign, is nobody's evidence: it is logged and
    /// otherwise ignored (a partner cannot raise a false alarm). People hear of a contradiction
    /// once per contradicting checkpoint (`directory.alarm`).
    func compareDirectoryCheckpoint(
        _ bytes: [UInt8]?, in carrier: CheckpointCarrier, from partner: ODSCode, bundle: BundleID
    ) {
        guard let bytes else { return }
        let client = DirectoryClient(home: gateway.home)
        guard client.hasJoined, let network = (try? client.pinnedCard())??.network else { return }
        // A partner that follows another network carries its checkpoint: nothing to compare.
        let origin = (try? SignedNote.parse(bytes)).flatMap { try? Checkpoint.parse($0.text) }?.origin
        guard let origin, Array(origin.utf8) == Array(network.utf8) else { return }
        let comparison: DirectoryClient.Comparison
        do { comparison = try client.compare(bytes, from: partner.value) } catch {
            log(.warning, "the directory checkpoint in \(partner)'s \(carrier.rawValue) was not compared: \(error)",
                bundle: bundle, partner: partner)
            return
        }
        guard case .equivocation(let evidence) = comparison else { return }
        let sentence = "directory equivocation: \(partner)'s \(carrier.rawValue) carries a checkpoint that contradicts "
            + "the directory trusted here; evidence kept in \(evidence)"
        log(.error, sentence, bundle: bundle, partner: partner)
        audit(AuditEvent("directory-equivocation", org: partner.value, bundle: bundle.hex, detail: evidence))
        let name = (try? gateway.partners.resolvedCard(for: partner))?.name
        DirectoryAlarm.emit(notifier, "equivocation", sentence, proof: bytes,
                            partner: NotifyEvent.Partner(ods: partner.value, name: name))
    }
}
