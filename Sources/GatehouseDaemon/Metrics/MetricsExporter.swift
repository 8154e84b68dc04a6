import CoreMetrics
import Glibc
public import GatehouseJournal
public import GatehouseKit
import GatehouseFormat
import Prometheus

/// The gateway's metrics in Prometheus' text format: the engine's event counters (through
/// swift-metrics, see ``DaemonMetrics``) and gauges read at each scrape from the journal, the
/// engine, the keys and the spool.
public final class MetricsExporter: Sendable {
    let registry: PrometheusCollectorRegistry
    /// Labels on every gauge: none for one gateway; `org` for each tenant of a service, whose
    /// exporters share one registry.
    let labels: [(String, String)]
    let engine: GatewayEngine
    let journal: any Journal
    let gateway: Gateway
    let spool: SpoolLayout
    let health: HealthCheck
    let clock: any WallClock

    /// An exporter for `engine`'s gateway, whose journal is `journal`.
    public convenience init(engine: GatewayEngine, journal: any Journal, gateway: Gateway, settings: DaemonSettings,
                            clock: any WallClock = SystemWallClock()) {
        self.init(engine: engine, journal: journal, gateway: gateway, settings: settings, clock: clock,
                  registry: PrometheusCollectorRegistry(), labels: [])
    }

    /// An exporter for one tenant of a service: its gauges carry `org`, in `registry` shared with
    /// the other tenants' exporters.
    public convenience init(tenant engine: GatewayEngine, journal: any Journal, gateway: Gateway, settings: DaemonSettings,
                            sharing other: MetricsExporter?) {
        self.init(engine: engine, journal: journal, gateway: gateway, settings: settings, clock: SystemWallClock(),
                  registry: other?.registry ?? PrometheusCollectorRegistry(), labels: [("org", engine.org.value)])
    }

    private init(engine: GatewayEngine, journal: any Journal, gateway: Gateway, settings: DaemonSettings,
                 clock: any WallClock, registry: PrometheusCollectorRegistry, labels: [(String, String)]) {
        self.registry = registry
        self.labels = labels
        self.engine = engine
        self.journal = journal
        self.gateway = gateway
        spool = SpoolLayout(home: gateway.home)
        health = HealthCheck(spool: spool, journal: journal, expiry: settings.expiry, clock: clock, home: gateway.home,
                             confirmWithin: settings.revocationConfirmWithin, directoryStaleAfter: settings.directoryStaleAfter)
        self.clock = clock
    }

    /// Claim-to-receipt times span milliseconds on a quiet loopback to a day-long outage.
    static let latencyBuckets: [Duration] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600]
        .map { Duration.milliseconds(Int64($0 * 1000)) }

    /// Sends swift-metrics' counters and timers to this exporter. Once per process.
    public func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[DaemonMetrics.Name.latency] = Self.latencyBuckets
        MetricsSystem.bootstrap(factory)
    }

    /// Every metric, refreshed now, in the text exposition format.
    public func render() async -> [UInt8] {
        await refresh()
        return registry.emitToBuffer()
    }

    /// Sets every gauge from the journal, the engine, the keys and the spool.
    func refresh() async {
        let now = clock.now()
        await refreshBreakers()
        refreshJournal(now: now)
        refreshKeys(now: now)
        gauge("gatehouse_quarantine_items", help: "Refused bundles, receipts and manifests kept in spool/quarantine").set(
            Int64(FileOperations.listFolder(spool.quarantine)?.count ?? 0))
        let healthy = await health.problems(including: engine).isEmpty
        gauge("gatehouse_healthy", help: "1 when /healthz answers ok, else 0").set(Int64(healthy ? 1 : 0))
    }

    /// The partners the gauges name: every partner card, so that a partner with nothing open reads 0.
    private func partners() -> [String] {
        ((try? gateway.partners.list()) ?? []).map(\.org.value)
    }

    private func gauge(_ name: String, _ labels: [(String, String)] = [], help: String) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help),
                           labels: self.labels + labels)
    }

    private func refreshBreakers() async {
        let open = await engine.openBreakers()
        for partner in partners() {
            gauge("gatehouse_circuit_breaker_open", [("partner", partner)],
                  help: "1 while deliveries to the partner are paused by its circuit breaker (open or trying once), else 0")
                .set(Int64(open.contains(partner) ? 1 : 0))
        }
    }

    private func refreshJournal(now: Int64) {
        guard let open = try? journal.openOutgoingByPartner(), let counts = try? journal.outgoingCounts() else { return }
        for state in OutgoingState.allCases {
            gauge("gatehouse_journal_bundles", [("state", state.rawValue)], help: "Outgoing bundles in the journal by state")
                .set(Int64(counts[state] ?? 0))
        }
        gauge("gatehouse_queue_depth", help: "Outgoing bundles waiting to be sealed or delivered")
            .set(Int64((counts[.queued] ?? 0) + (counts[.sealed] ?? 0)))
        for partner in Set(partners() + open.map(\.partner.value)).sorted() {
            let mine = open.filter { $0.partner.value == partner }
            for state in [OutgoingState.queued, .sealed, .delivered, .held] {
                gauge("gatehouse_bundles", [("partner", partner), ("state", state.rawValue)],
                      help: "Open outgoing bundles (queued, sealed, delivered, held) by partner and state")
                    .set(Int64(mine.first { $0.state == state }?.count ?? 0))
            }
            let oldest = mine.map(\.oldestCreatedAt).min()
            gauge("gatehouse_oldest_unacknowledged_age_seconds", [("partner", partner)],
                  help: "Age of the oldest outgoing bundle not yet acknowledged, 0 when none")
                .set(Double(oldest.map { max(0, now - $0) } ?? 0) / 1000)
        }
    }

    private func refreshKeys(now: Int64) {
        let seconds = now / 1000
        let help = "Seconds until the own key manifest or current key expires (negative once expired)"
        if let own = try? gateway.keys.loadOwnCard() {
            gauge("gatehouse_key_expiry_seconds", [("key", "manifest")], help: help).set(Int64(clamping: own.expires) - seconds)
            for (name, record) in [("signing", own.manifest.currentSigning), ("encryption", own.manifest.currentEncryption)] {
                guard case .current(let until) = record.state else { continue }
                gauge("gatehouse_key_expiry_seconds", [("key", name)], help: help).set(Int64(clamping: until) - seconds)
            }
        }
        for card in (try? gateway.partners.list()) ?? [] {
            gauge("gatehouse_partner_manifest_expiry_seconds", [("partner", card.org.value)],
                  help: "Seconds until the partner's key manifest held here expires (negative once expired)")
                .set(Int64(clamping: card.expires) - seconds)
        }
    }
}

extension GatewayEngine {
    /// The partners whose circuit breaker is open or half-open now.
    func openBreakers() -> Set<String> {
        Set(breakers.filter { $0.value.label != "closed" }.map(\.key.value))
    }
}
