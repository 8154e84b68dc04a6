import GatehouseDaemon
import GatehouseJournal
import GatehouseKit
import Hummingbird

/// The *Health* page [admin]: the own manifest, key and manifest warnings, each partner's
/// manifest and whether it confirmed ours, the outgoing queue by state; and, on request, the
/// same checks as `gatehouse doctor` (which log in to each mailbox, so they run only when asked).
extension WebApp {
    func addHealthRoutes(_ router: Router<WebContext>) {
        router.get("/health") { request, context in
            try await self.guarded(request, context, { $0 == .admin }) { try await self.health(request, context, $0) }
        }
        router.post("/health") { request, context in
            try await self.guarded(request, context, { $0 == .admin }) { viewer in
                guard try await self.form(request, session: viewer.session) != nil else {
                    return self.refusedForm(viewer: viewer)
                }
                let findings = await HomeDoctor(home: self.home).run()
                self.audit.record("web-doctor", viewer: viewer, detail: "findings=\(findings.count)")
                return try await self.health(request, context, viewer, findings: findings)
            }
        }
    }

    func health(
        _ request: Request, _ context: WebContext, _ viewer: Viewer, findings: [DoctorFinding] = []
    )
        async throws -> Response
    {
        let now = KeyStore.now()
        guard let own = try? KeyStore(home: home).loadOwnCard() else {
            return problem(
                .serviceUnavailable, "Not available", "This organisation's card cannot be read.", viewer: viewer)
        }
        let partners = (try? PartnerStore(home: home).list()) ?? []
        let ledger = ManifestLedger(home: home)
        let config = (try? GatehouseConfig.load(home: home)) ?? GatehouseConfig()
        let warnings =
            KeyWarnings.warnings(own: own, partners: partners, now: now)
            + KeyWarnings.unconfirmedRevocations(
                own: own, partners: partners.map(\.org), ledger: ledger,
                within: config.revocationConfirmWithin, now: now)
        let rows: [[String: Any]] = partners.map { card in
            let confirmed = ledger.delivery(to: card.org).hasConfirmed(own.manifest.version)
            return [
                "org": card.org.value, "name": card.name, "version": "\(card.manifest.version)",
                "expires": card.expiresText, "expiryTone": KeyWarnings.isStale(card, now: now) ? "bad" : "good",
                "confirmed": confirmed ? "version \(own.manifest.version) confirmed" : "not confirmed yet",
                "confirmedTone": confirmed ? "good" : "wait",
            ]
        }
        let counts: [OutgoingState: Int] =
            (try readJournal { journal in [try journal.outgoingCounts()] }).first ?? [:]
        let queue: [[String: Any]] = OutgoingState.allCases.map {
            ["state": $0.rawValue, "count": "\(counts[$0] ?? 0)"]
        }
        let shown: [[String: Any]] = findings.sorted { $0.level > $1.level }.map {
            [
                "check": $0.check, "level": $0.level.rawValue, "message": $0.message, "fix": $0.fix ?? "",
                "tone": $0.level == .ok ? "good" : $0.level == .warning ? "wait" : "bad",
            ]
        }
        audit.record("web-view", viewer: viewer, detail: "page=health")
        return page(
            "health", title: "Health",
            [
                "csrf": viewer.session.csrf, "own": own.org.value, "ownName": own.name,
                "ownVersion": "\(own.manifest.version)", "ownExpires": own.expiresText,
                "warnings": warnings.map(\.message), "hasWarnings": !warnings.isEmpty, "partners": rows,
                "hasPartners": !rows.isEmpty, "queue": queue, "findings": shown, "hasFindings": !shown.isEmpty,
            ], viewer: viewer)
    }
}
