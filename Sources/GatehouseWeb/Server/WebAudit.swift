import GatehouseKit

/// Audit events from the web pages, in the organisation's hash-chained audit log: every sign-in,
/// failed sign-in, page that shows patient data, download and *handled* mark, with who, from
/// where and which bundle, never a patient's details or a file name.
struct WebAudit: Sendable {
    let log: AuditLog
    let home: GatehouseHome

    init(home: GatehouseHome) {
        log = AuditLog(home: home)
        self.home = home
    }

    /// Appends `event` for `viewer` (or `user` at `address` before sign-in completes); returns
    /// false when the log could not be written. Pages that show patient data refuse to show it
    /// then: a view that cannot be audited does not happen.
    @discardableResult
    func record(
        _ event: String, viewer: WebApp.Viewer? = nil, user: String? = nil, address: String? = nil,
        bundle: String? = nil, sha256: String? = nil, detail: String = ""
    ) -> Bool {
        let who = viewer?.name ?? user ?? "-"
        let from = viewer?.address ?? address ?? "-"
        let text = "user=\(who) from=\(from)" + (detail.isEmpty ? "" : " \(detail)")
        let keys = KeyStore(home: home)
        do {
            try log.append(AuditEvent(event, bundle: bundle, sha256: sha256, detail: text)) { () throws(KitError) in
                try keys.loadSigningKey()
            }
            return true
        } catch {
            return false
        }
    }
}
