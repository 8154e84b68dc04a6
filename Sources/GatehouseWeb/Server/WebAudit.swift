import GatehouseKit

/// Audit events from the web pages, in the organisation's hash-chained audit log: every sign-in,
/// failed sign-in, page that shows patient data, download and *handled* mark, with who, from
/// where and which bundle, never a patient's details or a file name.
struct WebAudit: Sendable {
    let log: AuditLog
    let home: GatehouseHome
    let writer: AuditGroupCommit

    init(home: GatehouseHome) {
        log = AuditLog(home: home)
        self.home = home
        writer = AuditGroupCommit(log: log, home: home)
    }

    /// Appends `event` for `viewer` (or `user` at `address` before sign-in completes); returns
    /// false when the log could not be written. Pages that show patient data refuse to show it
    /// then: a view that cannot be audited does not happen.
    @discardableResult
    func record(
        _ event: String, viewer: WebApp.Viewer? = nil, user: String? = nil, address: String? = nil,
        bundle: String? = nil, sha256: String? = nil, detail: String = ""
    ) -> Bool {
        writer.appendAndWait(Self.event(event, viewer: viewer, user: user, address: address, bundle: bundle,
                                        sha256: sha256, detail: detail))
    }

    /// ``record(_:viewer:user:address:bundle:sha256:detail:)`` for async callers: the task is
    /// suspended, not a thread blocked, while the event's group is written, so every request in
    /// flight can join the same group.
    func recordAsync(
        _ event: String, viewer: WebApp.Viewer? = nil, bundle: String? = nil, detail: String = ""
    ) async -> Bool {
        await writer.append(Self.event(event, viewer: viewer, user: nil, address: nil, bundle: bundle, sha256: nil,
                                       detail: detail))
    }

    static func event(
        _ event: String, viewer: WebApp.Viewer?, user: String?, address: String?, bundle: String?, sha256: String?,
        detail: String
    ) -> AuditEvent {
        let who = viewer?.name ?? user ?? "-"
        let from = viewer?.address ?? address ?? "-"
        let text = "user=\(who) from=\(from)" + (detail.isEmpty ? "" : " \(detail)")
        return AuditEvent(event, bundle: bundle, sha256: sha256, detail: text)
    }
}
