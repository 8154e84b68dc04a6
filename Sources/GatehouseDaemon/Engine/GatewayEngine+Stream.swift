import GatehouseFormat
import GatehouseJournal
import GatehouseKit

extension GatewayEngine {
    /// Seals a queued bundle and, where the partner's transport can (SFTP), uploads it while it
    /// is being sealed: the upload follows the bundle file as it grows (the file is the buffer,
    /// memory stays at the upload's window) and stays under its temporary name on the relay.
    ///
    /// The order that keeps every crash safe is unchanged: the upload is published (renamed to
    /// its final name) only after the bundle is complete, its originals checked, the file synced
    /// and the journal says `sealed` (``GrowingFile/release(publish:)``). A crash before that
    /// leaves only a temporary name on the relay, which no listing returns and the relay's
    /// clean-up removes, and the bundle is sealed again from the journal (same id); a crash
    /// after it is the ordinary "delivered, not yet journalled" case, redelivered by name. A
    /// bundle not sealed (originals changed, refused, an error) withdraws the upload; a failed
    /// upload leaves the bundle `sealed`, delivered again later exactly as today.
    ///
    /// Returns true when a delivery was attempted (whatever its outcome), false when the bundle
    /// was only sealed (a transport that cannot stream, a breaker that is open).
    func sealAndDeliver(_ record: inout OutgoingRecord) async -> Bool {
        let partner = record.partner, id = record.bundleID
        guard let transport = try? transport(for: partner), transport.deliversWhileSealing,
            var breaker = allowedBreaker(&record, partner)
        else {
            seal(&record)
            return false
        }
        defer { breakers[partner] = breaker }
        let growing = GrowingFile()
        // Detached: the engine's actor is busy sealing meanwhile, and the upload must not wait for it.
        let upload = Task.detached { try await transport.deliver(growing: growing, to: partner, as: MailboxName.bundle(id)) }
        seal(&record, growing: growing)
        growing.release(publish: record.state == .sealed)
        let result = await upload.result
        guard record.state == .sealed else { return false }
        do {
            try result.get()
            try await delivered(&record, to: partner, breaker: &breaker)
        } catch {
            deliveryFailed(&record, to: partner, breaker: &breaker, error: error)
        }
        return true
    }
}
