import GatehouseKit
import Hummingbird

/// The *Audit* page [admin]: the newest entries of the audit log, or one account's, as
/// `gatehouse audit show --user NAME` prints them. Account names are no patient data, so the
/// filter is a plain GET.
extension WebApp {
    func addAuditRoutes(_ router: Router<WebContext>) {
        router.get("/audit") { request, context in
            try await self.guarded(request, context, { $0 == .admin }) {
                try await self.auditPage(request, context, $0)
            }
        }
    }

    func auditPage(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        let user = String((request.uri.queryParameters.get("user") ?? "").lowercased().prefix(32))
        let entries: [AuditEntry]
        do { entries = try AuditLog(home: home).entries() } catch {
            return problem(
                .serviceUnavailable, "Not available", "The audit log cannot be read: \(error.message)",
                viewer: viewer)
        }
        let shown = entries.reversed().filter { user.isEmpty || $0.user == user }.prefix(200)
        let rows: [[String: Any]] = shown.map {
            [
                "seq": "\($0.seq)", "time": $0.time, "event": $0.event, "bundle": $0.bundle ?? "",
                "detail": [$0.org, $0.detail].compactMap { $0 }.joined(separator: " "),
            ]
        }
        audit.record("web-view", viewer: viewer, detail: "page=audit")
        let summary =
            rows.isEmpty ? "No entries." : "The newest \(rows.count) entries\(user.isEmpty ? "" : " for \(user)")."
        return page(
            "audit", title: "Audit log",
            [
                "rows": rows, "hasRows": !rows.isEmpty, "user": user,
                "summary": summary,
            ], viewer: viewer)
    }
}
