import GatehouseCrypto
import GatehouseNotify

/// `directory.alarm` (docs/NOTIFY.md): the directory proved that someone lies or impersonates
/// this gateway. Its `reason` starts with one word, then a colon and the sentence the log got:
/// `rollback` or `fork` (the relay's directory was refused), `equivocation` (a partner's
/// receipt or bundle header, or a checkpoint seen elsewhere, contradicts the trusted one) or `foreign-listing`
/// (the directory lists another root key under the own ODS code). No patient data.
enum DirectoryAlarm {
    /// Queues the alarm once per distinct proof: `proof` is what makes it this alarm (the refused
    /// checkpoint's bytes, the foreign entry). The same proof found again next round, or in the
    /// next receipt, is not announced again (the once ledger keeps it eight days).
    static func emit(
        _ notifier: Notifier, _ kind: String, _ sentence: String, proof: [UInt8], partner: NotifyEvent.Partner? = nil
    ) {
        guard notifier.settings.isEnabled else { return }
        var event = notifier.event("directory.alarm")
        event.reason = "\(kind): \(sentence)"
        event.partner = partner
        // Keyed by the proof's digest, not the evidence file's name: each round names a new file.
        notifier.emitOnce(event, key: "directory.alarm:\(kind):\(SHA256Hasher.hash(proof))")
    }
}
