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

            With [journal] url = "postgres://…" in gatehouse.toml, several nodes (--node ID) share \
            the home and one PostgreSQL journal; with [tenants], one process serves every \
            organisation home listed (see docs/OPERATIONS.md, "A hosted service on PostgreSQL"), \
            each with its own notifications and directory sync; --web then serves the first \
            tenant's pages only.
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

    @Option(name: .customLong("node"), help: ArgumentHelp(
        "With a PostgreSQL journal: this node's id.",
        discussion: "Unique among the nodes sharing the database (default: 'node' under [journal], else the host "
            + "name). A second process with the same id is refused while the first one's lease runs.",
        valueName: "ID"))
    var node: String?

    @Option(name: .customLong("web"), help: ArgumentHelp(
        "Serve the staff web pages (as `gatehouse web`) in this process, on this address.",
        discussion: "HOST:PORT, e.g. 127.0.0.1:8443; HTTPS with [web] tls_certificate and tls_key, else plain HTTP, "
            + "loopback only.",
        valueName: "HOST:PORT"))
    var web: String?

    func run() async throws {
        let home = homeOptions.resolved
        let config = try GatehouseConfig.load(home: home)
        let format = logFormat
        // A service's home need not be an organisation's: with [tenants] it only lists them.
        if config.tenants == nil { _ = try homeOptions.initialised() }
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: format) }
        let logger = Logger(label: "gatehouse")
        let gateways = if let tenants = config.tenants {
            try await Self.startTenants(tenants, node: node, metrics: metrics, web: web, logger: logger)
        } else {
            [try await RunningGateway.start(home: home, node: node, metrics: metrics.map { .serve($0) } ?? .none,
                                            web: web, logger: logger)]
        }
        let group = ServiceGroup(configuration: .init(
            services: gateways.flatMap(\.services), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        for gateway in gateways {
            logger.info("gateway \(gateway.org) running", metadata: ["gatehouse.home": "\(gateway.home.path)"])
        }
        do { try await group.run() } catch {
            gateways.forEach { $0.stopped() }
            throw error
        }
        gateways.forEach { $0.stopped() }
    }

    /// Starts every tenant home; one that cannot start (bad key permissions, a full spool, no
    /// mailbox) is logged and left out, and the others run. Fails only when none starts. With
    /// `metrics`, one server serves every tenant's gauges (labelled `org`) and health. With `web`,
    /// one web server (one listening address) serves the first tenant that starts.
    static func startTenants(_ tenants: TenantSettings, node: String?, metrics: String?, web: String?,
                             logger: Logger) async throws -> [RunningGateway] {
        let homes = tenants.resolve()
        var started: [RunningGateway] = []
        for home in homes {
            let first = started.first?.exporter
            do {
                started.append(try await RunningGateway.start(
                    home: home, node: node, metrics: metrics == nil ? .none : .tenant(sharing: first),
                    web: started.isEmpty ? web : nil, logger: logger, isolated: true))
            } catch {
                logger.error("tenant \(home.path) not started: \(ErrorReport(error).message)")
            }
        }
        guard !started.isEmpty else {
            throw CommandFailure(status: .invalidInput, message: "none of the \(homes.count) tenant homes could start",
                                 hint: "see the errors above; [tenants] lists them with 'homes' or 'folder'")
        }
        if let metrics {
            let exporters = started.compactMap(\.exporter)
            exporters[0].bootstrap()
            let server = try MetricsServer(address: metrics, exporters: exporters, logger: logger)
            started[0] = started[0].serving(server)
        }
        return started
    }
}

extension LineLogHandler.Format: ExpressibleByArgument {}
