import GatehouseFormat
import GatehouseJournal
import Hummingbird

/// The *Outgoing* page [sender, admin]: every outgoing bundle with its state, attempts, last
/// error and receipt; failed and expired first, then the newest.
extension WebApp {
    func addOutgoingRoutes(_ router: Router<WebContext>) {
        router.get("/outgoing") { request, context in
            try await self.guarded(request, context, \.sends) { try await self.outgoing(request, context, $0) }
        }
        router.get("/outgoing/pack/:name") { request, context in
            try await self.guarded(request, context, \.sends) { try await self.sentPack(request, context, $0) }
        }
        router.get("/outgoing/:id") { request, context in
            try await self.guarded(request, context, \.sends) { try await self.timeline(request, context, $0) }
        }
    }

    func outgoing(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        let newest = try readJournal { try $0.newestOutgoing(limit: 500) }
        let ordered =
            newest.filter { Self.needsAttention($0.record.state) }
            + newest.filter { !Self.needsAttention($0.record.state) }
        let rows: [[String: Any]] = ordered.map { record, files in
            [
                "id": record.bundleID.hex, "created": Self.time(record.createdAt), "partner": record.partner.value,
                "state": record.state.rawValue,
                "tone": Self.tone(record.state), "attempts": "\(record.attempts)", "lastError": record.lastError ?? "",
                "files": "\(files.count)",
                "receipt": record.receipt == nil ? "" : (record.state == .acknowledged ? "verified" : "failed"),
            ]
        }
        guard audit.record("web-view", viewer: viewer, detail: "page=outgoing") else { return auditUnavailable(viewer) }
        let summary = rows.isEmpty ? "Nothing sent yet." : "\(rows.count) most recent bundles, problems first."
        return page(
            "outgoing", title: "Outgoing", ["rows": rows, "hasRows": !rows.isEmpty, "summary": summary],
            viewer: viewer)
    }

    /// A pack just sent from the *Send* page: its bundle's timeline once the gateway has claimed
    /// it, a page that refreshes itself until then.
    func sentPack(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        guard let name = context.parameters.get("name"), name.hasPrefix("send-"), name.utf8.count <= 64,
            name.utf8.allSatisfy({
                $0 == 0x2D || $0 == 0x3A || $0 == 0x2E || (0x30...0x39).contains($0)
                    || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            })
        else {
            return problem(.notFound, "No such pack", "No pack was sent under that name.", viewer: viewer)
        }
        let found: [BundleID] = try readJournal { journal in try journal.outgoingBundle(forPack: name).map { [$0] } ?? []
        }
        if let id = found.first { return redirect("/outgoing/\(id)") }
        return page(
            "timeline", title: "Waiting",
            [
                "partner": "partner", "state": "in the outbox", "tone": "wait",
                "waiting": "The gateway has not picked the pack up yet.",
            ],
            viewer: viewer, refresh: 2)
    }

    /// One outgoing bundle: state, attempts, last error, receipt and every transition; the page
    /// refreshes itself every 2 seconds until the bundle reaches a final state.
    func timeline(_ request: Request, _ context: WebContext, _ viewer: Viewer) async throws -> Response {
        let notFound = problem(.notFound, "No such bundle", "Nothing was sent with that bundle id.", viewer: viewer)
        guard let id = context.parameters.get("id").flatMap({ try? BundleID(hex: $0) }) else { return notFound }
        let found: [(OutgoingRecord, [Transition])] = try readJournal { journal in
            guard let record = try journal.outgoing(id) else { return [] }
            return [(record, try journal.transitions(of: id).filter { $0.direction == "out" })]
        }
        guard let (record, transitions) = found.first else { return notFound }
        let steps: [[String: Any]] = transitions.map {
            ["state": $0.state, "at": Self.time($0.at), "detail": $0.detail ?? ""]
        }
        let values: [String: Any] = [
            "id": record.bundleID.hex, "partner": record.partner.value, "state": record.state.rawValue,
            "tone": Self.tone(record.state), "attempts": "\(record.attempts)", "lastError": record.lastError ?? "none",
            "receipt": record.receipt == nil ? "not yet" : (record.state == .acknowledged ? "verified" : "failed"),
            "steps": steps, "hasSteps": !steps.isEmpty,
        ]
        guard audit.record("web-view", viewer: viewer, bundle: record.bundleID.hex, detail: "page=timeline") else {
            return auditUnavailable(viewer)
        }
        return page(
            "timeline", title: "Outgoing bundle", values, viewer: viewer,
            refresh: record.state.isFinal ? nil : 2)
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
