import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseNotify
import Logging
import ServiceLifecycle

/// One organisation's gateway inside `gatehouse run`: its engine and the services that drive it
/// (outbox watcher, delivery, collector, directory sync, notifications when `[notify]` is set, the
/// web pages when asked for, and with a shared journal the lease heartbeat).
struct RunningGateway {
    let home: GatehouseHome
    let gateway: Gateway
    let org: ODSCode
    let services: [ServiceGroupConfiguration.ServiceConfiguration]
    let lock: HomeLock?
    let logger: Logger
    /// This tenant's metrics, for the service's one server (nil unless asked for).
    let exporter: MetricsExporter?

    /// What a gateway does about metrics.
    enum Metrics {
        /// None.
        case none
        /// Serve `/metrics` and `/healthz` on this address (one gateway).
        case serve(String)
        /// Export into the registry of `sharing` (the first tenant: a new one), for one server.
        case tenant(sharing: MetricsExporter?)
    }

    /// Starts the gateway at `home`: takes its lock (SQLite) or joins as `node` (its own
    /// `[journal]` names PostgreSQL: a tenant's settings are its own, so a daemon started on that
    /// home alone meets the same journal and the same node leases), opens its journal, recovers
    /// from a crash and builds its services (with `web`, the staff web pages on that address).
    /// With `isolated`, a service of this gateway that fails stops only
    /// this gateway, not the others in the process (the heartbeat still stops them all: a node
    /// that lost its lease must stop working).
    static func start(home: GatehouseHome, node: String?, metrics: Metrics, web: String? = nil, logger base: Logger,
                      isolated: Bool = false) async throws -> RunningGateway {
        let config = try GatehouseConfig.load(home: home)
        // Held for the daemon's whole life, dropped by the kernel however it ends: a second
        // `run` on this home stops here, before it touches the journal or the spool. With a
        // shared (PostgreSQL) journal several nodes share the home: a node row with a lease in
        // the database refuses a second process with the same node id instead.
        let lock = JournalOpener.isShared(config) ? nil : try HomeLock.daemon(home)
        do {
            return try await build(home: home, config: config, node: node, metrics: metrics, web: web, logger: base,
                                   lock: lock, isolated: isolated)
        } catch {
            lock?.release()
            throw error
        }
    }

    private static func build(home: GatehouseHome, config: GatehouseConfig, node: String?, metrics: Metrics,
                              web: String?, logger base: Logger, lock: HomeLock?,
                              isolated: Bool) async throws -> RunningGateway {
        let gateway = Gateway(home: home)
        let own = try gateway.keys.loadOwnCard()
        var logger = base
        if isolated { logger[metadataKey: "gatehouse.org"] = "\(own.org)" }
        let connector = MailboxConnector(home: home, own: own, config: config, logger: logger)
        guard try connector.address(of: own.org) != nil else {
            throw KitError.invalidInput("\(own.org) has no mailbox address: set one with `gatehouse identity set-mailbox ADDRESS` (and send partners the new card) or `mailbox` in gatehouse.toml")
        }
        let mailboxes: @Sendable (ODSCode) throws -> (any MailboxTransport)? = { try connector.transport(for: $0) }
        var settings = DaemonSettings(config: config)
        // Checked at start: a group the gateway cannot give files to stops it here, not at the first bundle.
        settings.publish = try config.publish.map { (publish) throws(KitError) in try PublishTarget(settings: publish) }
        let spool = SpoolLayout(home: home)
        try spool.create()
        let journal = try JournalOpener.open(home: home, config: config, node: node)
        let notifier = try Notifier.forDaemon(config.notify, home: home, organisation: own.org, logger: logger)
        let engine = try GatewayEngine(gateway: gateway, journal: journal, settings: settings,
                                       logger: logger, notifier: notifier, mailboxes: mailboxes)
        var metricsServer: MetricsServer?
        var exporter: MetricsExporter?
        switch metrics {
        case .none: break
        case .serve(let address):
            let single = MetricsExporter(engine: engine, journal: journal, gateway: gateway, settings: settings)
            single.bootstrap()
            metricsServer = try MetricsServer(address: address, exporter: single, logger: logger)
        case .tenant(let first):
            exporter = MetricsExporter(tenant: engine, journal: journal, gateway: gateway, settings: settings, sharing: first)
        }
        let webServer = try web.map { listen in try WebCommand.server(home: home, config: config, listen: listen) }
        try await engine.recover()
        let wakeup = Wakeup()
        let watcher = SpoolWatcher(outbox: spool.outbox, stableWindow: settings.stableWindow, rescanInterval: settings.rescanInterval,
                                   logger: logger) { events in
            // One node per organisation claims (the others' rescans offer the files again).
            guard await engine.holdsSpoolLease() else { return }
            var complete: [OutboxFile] = []
            for event in events {
                switch event {
                case .complete(let file): complete.append(file)
                case .refused(let path, let partner, let reason): _ = await engine.refuse(path: path, partner: partner, reason: reason)
                }
            }
            let outcomes = complete.isEmpty ? [] : await engine.claim(complete)
            if outcomes.contains(where: { if case .claimed = $0 { true } else { false } }) { wakeup.raise() }
        }
        let failure: ServiceGroupConfiguration.ServiceConfiguration.TerminationBehavior = isolated ? .ignore : .cancelGroup
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: watcher, failureTerminationBehavior: failure),
            .init(service: DeliveryService(engine: engine, wakeup: wakeup), failureTerminationBehavior: failure),
            .init(service: CollectorService(engine: engine, interval: settings.pollInterval, delivered: wakeup,
                                            mayCollect: { await engine.holdsSpoolLease() }),
                  failureTerminationBehavior: failure),
            // On the spool-lease holder only: nodes sharing the home share its directory/ folder.
            .init(service: DirectorySyncService(engine: engine,
                                                fetcher: DirectoryFetcher(home: home, own: own, connector: connector),
                                                own: own, interval: config.directorySyncInterval, logger: logger),
                  failureTerminationBehavior: failure),
        ]
        if notifier.settings.isEnabled {
            // One sender per organisation: nodes sharing the home share its queue (spool/notify/).
            let notify = NotifyService(notifier: notifier, mayDrain: { await engine.holdsSpoolLeaseNow })
            services.append(.init(service: notify, failureTerminationBehavior: failure))
        }
        if let webServer {
            let pagesLogger = logger
            let pages = try webServer.service { port in pagesLogger.info("web pages on port \(port)") }
            services.append(.init(service: pages, failureTerminationBehavior: failure))
        }
        if let metricsServer { services.append(.init(service: metricsServer)) }
        if let shared = config.journal {
            services.append(.init(service: JournalHeartbeat(journal: journal, interval: shared.lease / 3, logger: logger)))
        }
        return RunningGateway(home: home, gateway: gateway, org: own.org, services: services, lock: lock, logger: logger,
                              exporter: exporter)
    }

    /// The same gateway, also running `server` (the service's one metrics server).
    func serving(_ server: MetricsServer) -> RunningGateway {
        RunningGateway(home: home, gateway: gateway, org: org, services: services + [.init(service: server)], lock: lock,
                       logger: logger, exporter: exporter)
    }

    /// After the services stopped: a signed audit checkpoint (whatever follows can be told
    /// apart), then the home lock goes.
    func stopped() {
        do { try AuditLog(home: home).checkpoint(with: try gateway.keys.loadSigningKey()) } catch {
            logger.error("the audit checkpoint at shutdown failed: \(error)")
        }
        lock?.release()
        logger.info("gateway \(org) stopped")
    }
}
