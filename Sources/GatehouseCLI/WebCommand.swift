import ArgumentParser
import GatehouseKit
import GatehouseWeb
import Glibc

/// `gatehouse web [--listen HOST:PORT]`: the staff web pages.
struct WebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "Serve the staff web pages: inbox, packs, send and outgoing, with sign-in and TOTP.",
        discussion: """
            Serves plain HTTP, on loopback only unless [web] behind_tls_proxy = true: put a \
            reverse proxy that terminates TLS in front of it (nginx: docs/OPERATIONS.md). It reads \
            the gateway's journal and home, drops packs from the Send page into the outbox as \
            `gatehouse send` does (the running `gatehouse run` sends them), and runs as the \
            gateway's user. Accounts are made with `gatehouse users add`; every sign-in, page \
            with patient data, download and handled mark is written to the audit log. Settings \
            come from [web] in gatehouse.toml; --listen overrides its listen address. Runs until \
            SIGTERM or SIGINT.

            Examples:
              gatehouse web
              gatehouse web --listen 127.0.0.1:8443 --home /srv/gatehouse
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(help: ArgumentHelp("Address to listen on (default: [web] listen, 127.0.0.1:8443).", valueName: "HOST:PORT"))
    var listen: String?

    func run() async throws {
        let home = try homeOptions.initialised()
        var settings = try GatehouseConfig.load(home: home).web
        if let listen { settings.listen = listen }
        let server: WebServer
        do {
            _ = try WebServer.listenAddress(settings.listen, tlsInFront: settings.behindTLSProxy)
            server = WebServer(
                home: home, settings: settings,
                accounts: AccountService(store: try UserStore(home: home)))
        } catch {
            throw CommandFailure(
                status: .invalidInput, message: error.message,
                hint: "see the [web] section of docs/OPERATIONS.md")
        }
        let host = settings.listen.split(separator: ":").dropLast().joined(separator: ":")
        try await server.run { port in
            // Printed once the socket is bound (scripts and tests wait for this line).
            print("gatehouse web: serving on http://\(host):\(port)/")
            fflush(nil)
        }
    }
}
