import GatehouseKit
import Glibc
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle

/// `gatehouse web`: builds the router and runs the server until cancelled.
package struct WebServer: Sendable {
    package let home: GatehouseHome
    package let settings: WebSettings
    package let accounts: AccountService

    package init(home: GatehouseHome, settings: WebSettings, accounts: AccountService) {
        self.home = home
        self.settings = settings
        self.accounts = accounts
    }

    /// Splits `HOST:PORT` (`[::1]:PORT` for IPv6); refuses a non-loopback host unless this
    /// server speaks TLS itself (`servesTLS`): passwords and records must never cross a network
    /// in clear, not even between a reverse proxy and this server.
    package static func listenAddress(_ text: String, servesTLS: Bool) throws(WebError) -> (host: String, port: Int) {
        let (host, port) = try splitAddress(text)
        guard isLoopback(host) || servesTLS else {
            throw .configuration(
                "refusing to listen on \(host) over plain HTTP: serve HTTPS with tls_certificate and tls_key "
                    + "in [web] (`gatehouse web cert` makes a first pair), or listen on 127.0.0.1 behind a "
                    + "reverse proxy on this machine that terminates TLS")
        }
        return (host == "localhost" ? "127.0.0.1" : host, port)
    }

    /// `HOST:PORT` (`[::1]:PORT`) split, the brackets removed.
    static func splitAddress(_ text: String) throws(WebError) -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw .configuration("\(text.debugDescription) is not HOST:PORT, e.g. 127.0.0.1:8443")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }

    /// The address to bind for `settings` (see ``listenAddress(_:servesTLS:)``), refusing
    /// settings that cannot be used safely: a trusted proxy user header anywhere but loopback
    /// (any machine that reached the port could then name any account), or one that is no plain
    /// header name or is one a browser sets; and password sign-in off with no proxy to sign in.
    package static func checkedAddress(_ settings: WebSettings) throws(WebError) -> (host: String, port: Int) {
        if let problem = settings.tlsPairProblem { throw .configuration(problem) }
        let (host, _) = try splitAddress(settings.listen)
        if let header = settings.trustedProxyUserHeader {
            if let problem = WebSettings.proxyHeaderProblem(header) {
                throw .configuration("trusted_proxy_user_header in [web]: \(problem)")
            }
            guard isLoopback(host) else {
                throw .configuration(
                    "refusing trusted_proxy_user_header = \(header.debugDescription) with listen = "
                        + "\(settings.listen.debugDescription): the header signs in whoever it names, so only the "
                        + "proxy on this machine may reach the server; listen on 127.0.0.1 (or ::1)")
            }
        } else if !settings.passwordSignIn {
            throw .configuration(
                "password_signin = false in [web] leaves no way to sign in: set trusted_proxy_user_header "
                    + "for a single-sign-on proxy, or remove password_signin")
        }
        return try listenAddress(settings.listen, servesTLS: settings.servesTLS)
    }

    /// The router with every page.
    func router(app: WebApp) -> Router<WebContext> {
        let router = Router(context: WebContext.self)
        router.add(middleware: SecurityHeaders(tls: settings.browsersUseTLS))
        router.get("/") { request, context in
            switch try await app.gate(request, context, { _ in true }) {
            case .allowed(let viewer): return app.redirect(viewer.account.role.readsInbox ? "/inbox" : "/outgoing")
            case .denied(let response): return response
            }
        }
        router.get("/static/send.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: SendScript.javascript)))
        }
        router.get("/static/style.css") { _, _ in
            var response = Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: Stylesheet.css)))
            response.headers[.cacheControl] = "no-store"
            return response
        }
        app.addSignInRoutes(router)
        app.addInboxRoutes(router)
        app.addPackRoutes(router)
        app.addSendRoutes(router)
        app.addOutgoingRoutes(router)
        app.addAuditRoutes(router)
        app.addHealthRoutes(router)
        app.addIntakeRoutes(router)
        return router
    }

    /// The server as a service for a ServiceGroup (`gatehouse run --web`): it stops with the group.
    /// `onRunning` gets the bound port (useful with port 0). With `[web] tls_certificate` it
    /// serves HTTPS only: the certificate and key are read and checked now (see ``WebTLS``).
    package func service(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws(WebError)
        -> some Service
    {
        let (host, port) = try Self.checkedAddress(settings)
        let app = WebApp(home: home, settings: settings, accounts: accounts)
        var logger = Logger(label: "gatehouse-web")
        logger.logLevel = .warning
        // An idle connection (no bytes either way for a minute, a slow-loris) is closed.
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(60)))
        let server: HTTPServerBuilder
        if let certificate = settings.tlsCertificate, let key = settings.tlsKey {
            let tls = try WebTLS.load(certificate: certificate, key: key)
            do { server = try .tls(http1, tlsConfiguration: tls.configuration) } catch {
                throw .configuration("cannot serve TLS with tls_certificate \(certificate): \(error)")
            }
        } else {
            server = http1
        }
        return Application(
            router: router(app: app), server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Runs until the task is cancelled, or SIGTERM or SIGINT.
    package func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let application = try service(onRunning: onRunning)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "gatehouse-web")))
        try await group.run()
    }
}
