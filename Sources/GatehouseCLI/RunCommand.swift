import ArgumentParser
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseNotify
import Logging
import ServiceLifecycle

/// `gatehouse run`: the gateway daemon.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the gateway: watch the outbox, seal, deliver, collect, publish and send receipts.",
        discussion: """
            Runs until SIGTERM or SIGINT, then stops gracefully. Drop records into \
            spool/outbox/<ODS>/ (write name.part and rename when complete). Settings come from \
            gatehouse.toml in the home folder; `gatehouse config check` shows them. With [notify], \
            people are told (a command, a webhook) when a pack arrives, a delivery fails or a key \
            expires; `gatehouse notify test` checks the targets.

            Examples:
              gatehouse run --home /srv/gatehouse
              gatehouse run --log-format json
              gatehouse run --metrics 127.0.0.1:9464   (serves /metrics and /healthz)
              gatehouse run --web 127.0.0.1:8443       (the staff web pages too)
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(name: .customLong("log-format"), help: "text (default) or json.")
    var logFormat: LineLogHandler.Format = .text

    @Option(name: .customLong("metrics"), help: ArgumentHelp(
        "Serve Prometheus metrics at /metrics and a health check at /healthz on this address.",
        discussion: "HOST:PORT with a numeric address, e.g. 127.0.0.1:9464 or [::1]:9464. Anyone who can reach it can read the metrics (they name partners, never patients): keep it on loopback or a management network.",
        valueName: "HOST:PORT"))
    var metrics: String?

    @Option(name: .customLong("web"), help: ArgumentHelp(
        "Serve the staff web pages (as `gatehouse web`) in this process, on this address.",
        discussion: "HOST:PORT, e.g. 127.0.0.1:8443; plain HTTP, so loopback unless [web] behind_tls_proxy = true.",
        valueName: "HOST:PORT"))
    var web: String?

    func run() async throws {
        let home = try homeOptions.initialised()
        // Held for the daemon's whole life, dropped by the kernel however it ends: a second
        // `run` on this home stops here, before it touches the journal or the spool.
        let lock = try HomeLock.daemon(home)
        defer { lock.release() }
        let format = logFormat
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format) }
        let logger = Logger(label: "gatehouse")
        let config = try GatehouseConfig.load(home: home)
        let gateway = Gateway(home: home)
        let own = try gateway.keys.loadOwnCard()
        let connector = MailboxConnector(home: home, own: own, config: config, logger: logger)
        guard let ownMailbox = try connector.address(of: own.org) else {
            throw KitError.invalidInput("\(own.org) has no mailbox address: set one with `gatehouse identity set-mailbox ADDRESS` (and send partners the new card) or `mailbox` in gatehouse.toml")
        }
        let mailboxes: @Sendable (ODSCode) throws -> (any MailboxTransport)? = { try connector.transport(for: $0) }
        var settings = DaemonSettings(config: config)
        // Checked at start: a group the gateway cannot give files to stops it here, not at the first bundle.
        settings.publish = try config.publish.map { (publish) throws(KitError) in try PublishTarget(settings: publish) }
        let spool = SpoolLayout(home: home)
        try spool.create()
        let journal = try Journal(path: spool.journal)
        let notifier = try Notifier.forDaemon(config.notify, home: home, organisation: own.org, logger: logger)
        let engine = try GatewayEngine(gateway: gateway, journal: journal, settings: settings,
                                       logger: logger, notifier: notifier, mailboxes: mailboxes)
        let metricsServer = try metrics.map { address in
            let exporter = MetricsExporter(engine: engine, journal: journal, gateway: gateway, settings: settings)
            exporter.bootstrap()
            return try MetricsServer(address: address, exporter: exporter, logger: logger)
        }
        let webServer = try web.map { listen in try WebCommand.server(home: home, config: config, listen: listen) }
        try await engine.recover()
        let wakeup = Wakeup()
        let watcher = SpoolWatcher(outbox: spool.outbox, stableWindow: settings.stableWindow, rescanInterval: settings.rescanInterval,
                                   logger: logger) { events in
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
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: watcher),
                .init(service: DeliveryService(engine: engine, wakeup: wakeup)),
                .init(service: CollectorService(engine: engine, interval: settings.pollInterval, delivered: wakeup)),
                .init(service: DirectorySyncService(fetcher: DirectoryFetcher(home: home, own: own, connector: connector),
                                                    own: own, interval: config.directorySyncInterval, logger: logger)),
            ] + (metricsServer.map { [.init(service: $0)] } ?? [])
                + (notifier.settings.isEnabled ? [.init(service: NotifyService(notifier: notifier))] : [])
                + (try webServer.map { server in
                    [.init(service: try server.service { port in logger.info("web pages on port \(port)") })]
                } ?? []),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        logger.info("gateway \(own.org) running", metadata: ["gatehouse.home": "\(home.path)", "gatehouse.mailbox": "\(ownMailbox)"])
        try await group.run()
        // A signed checkpoint at every stop: whatever follows can be told apart.
        do { try AuditLog(home: home).checkpoint(with: try gateway.keys.loadSigningKey()) } catch {
            logger.error("the audit checkpoint at shutdown failed: \(error)")
        }
        logger.info("gateway \(own.org) stopped")
    }
}

extension LineLogHandler.Format: ExpressibleByArgument {}
