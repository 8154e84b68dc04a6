import GatehouseFormat
import GatehouseKit
import GatehouseNotify

extension GatewayEngine {
    /// The signed checkpoint of the directory this gateway trusts, for its receipts to carry
    /// (FORMAT.md §4.1); nil when it follows no network.
    func directoryCheckpoint() -> [UInt8]? {
        let client = DirectoryClient(home: gateway.home)
        guard client.hasJoined else { return nil }
        return (try? client.log.readCheckpoint()) ?? nil
    }

    /// Compares the checkpoint a partner's receipt carries with this gateway's copy of the
    /// directory (DIRECTORY.md §7.2): a contradiction is proof that the authority showed the two
    /// gateways different logs, kept as evidence, logged and audited; `doctor` and `/healthz`
    /// then report it. A checkpoint of another network, or from a gateway that follows none, is
    /// nobody's evidence and is ignored. People hear of it once per contradicting checkpoint
    /// (`directory.alarm`).
    func compareDirectoryCheckpoint(of receipt: Receipt, from partner: ODSCode) {
        guard let bytes = receipt.directoryCheckpoint else { return }
        let client = DirectoryClient(home: gateway.home)
        guard client.hasJoined, case .equivocation(let evidence)? = try? client.compare(bytes, from: partner.value) else { return }
        let sentence = "directory equivocation: \(partner)'s receipt carries a checkpoint that contradicts the "
            + "directory trusted here; evidence kept in \(evidence)"
        log(.error, sentence, bundle: receipt.bundleID, partner: partner)
        audit(AuditEvent("directory-equivocation", org: partner, bundle: receipt.bundleID, detail: evidence))
        let name = (try? gateway.partners.resolvedCard(for: partner))?.name
        DirectoryAlarm.emit(notifier, "equivocation", sentence, proof: bytes,
                            partner: NotifyEvent.Partner(ods: partner.value, name: name))
    }
}
