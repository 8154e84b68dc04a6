import GatehouseJournal
import Hummingbird

/// The *Outgoing* page [sender, admin]: every outgoing bundle with its state, attempts, last
/// error and receipt; failed and expired first, then the newest.
extension WebApp {
    func addOutgoingRoutes(_ router: Router<WebContext>) {
        router.get("/outgoing") { request, context in try await self.outgoing(request, context) }
    }

    func outgoing(_ request: Request, _ context: WebContext) async throws -> Response {
        let viewer: Viewer
        switch try await gate(request, context, \.sends) {
        case .allowed(let v): viewer = v
        case .denied(let response): return response
        }
        let newest = try readJournal { try $0.newestOutgoing(limit: 500) }
        let ordered = newest.filter { Self.needsAttention($0.record.state) }
            + newest.filter { !Self.needsAttention($0.record.state) }
        let rows: [[String: Any]] = ordered.map { record, files in
            [
                "created": Self.time(record.createdAt), "partner": record.partner, "state": record.state.rawValue,
                "tone": Self.tone(record.state), "attempts": "\(record.attempts)", "lastError": record.lastError ?? "",
                "files": "\(files.count)",
                "receipt": record.receipt == nil ? "" : (record.state == .acknowledged ? "verified" : "failed"),
            ]
        }
        guard audit.record("web-view", viewer: viewer, detail: "page=outgoing") else { return auditUnavailable(viewer) }
        let summary = rows.isEmpty ? "Nothing sent yet." : "\(rows.count) most recent bundles, problems first."
        return page("outgoing", title: "Outgoing", ["rows": rows, "hasRows": !rows.isEmpty, "summary": summary],
                    viewer: viewer)
    }

    static func needsAttention(_ state: OutgoingState) -> Bool { state == .failed || state == .expired }

    static func tone(_ state: OutgoingState) -> String {
        switch state {
        case .acknowledged: "good"
        case .failed, .expired: "bad"
        default: "wait"
        }
    }
}
