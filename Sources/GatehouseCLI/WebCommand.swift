import ArgumentParser
import Foundation
import GatehouseKit
import GatehouseWeb
import Glibc

/// `gatehouse web [--listen HOST:PORT]`: the staff web pages.
struct WebCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "Serve the staff web pages: inbox, packs, send and outgoing, with sign-in and TOTP.",
        discussion: """
            With [web] tls_certificate and tls_key (PEM files; the key mode 0600) it serves \
            HTTPS, on any address: `gatehouse web cert` makes a self-signed pair for first use. \
            Without them it serves plain HTTP, on loopback only: put a reverse proxy that \
            terminates TLS in front of it (nginx: docs/OPERATIONS.md) and set [web] \
            behind_tls_proxy = true. It reads the gateway's journal and home, drops packs from \
            the Send page into the outbox as `gatehouse send` does (the running `gatehouse run` \
            sends them), and runs as the gateway's user. Accounts are made with `gatehouse users \
            add`; every sign-in, page with patient data, download and handled mark is written to \
            the audit log. Settings come from [web] in gatehouse.toml; --listen overrides its \
            listen address. Runs until SIGTERM or SIGINT.

            Behind a single-sign-on proxy (NHS Smartcard/CIS2 sign-in), [web] \
            trusted_proxy_user_header = "X-Remote-User" signs in the existing, enabled account the \
            proxy names in that header (its role from `gatehouse users`); it is refused unless the \
            listen address is loopback, and the proxy must strip any value a client sent. The \
            password and TOTP form is then off unless [web] password_signin = true.

            Examples:
              gatehouse web
              gatehouse web --listen 127.0.0.1:8443 --home /srv/gatehouse
              gatehouse web cert --host gatehouse.hmp-northgate.example --host 10.20.0.5
            """,
        subcommands: [WebCertCommand.self]
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(help: ArgumentHelp("Address to listen on (default: [web] listen, 127.0.0.1:8443).", valueName: "HOST:PORT"))
    var listen: String?

    /// The server for `home` with `config`'s [web] settings, listening on `listen` if given; its
    /// address and the account store checked now, so a bad one stops the command at once.
    static func server(home: GatehouseHome, config: GatehouseConfig, listen: String?) throws -> WebServer {
        var settings = config.web
        if let listen { settings.listen = listen }
        try requireGatewayUser(home, command: "gatehouse web")
        do {
            _ = try WebServer.checkedAddress(settings)
            // The certificate and key are checked now, so a bad pair stops the command at once.
            if let certificate = settings.tlsCertificate, let key = settings.tlsKey {
                let tls = try WebTLS.load(certificate: certificate, key: key)
                // Said at every start from 30 days before: an expired certificate stops the pages.
                if tls.notValidAfter < Date().addingTimeInterval(30 * 86_400) {
                    let day = ISO8601DateFormatter.string(
                        from: tls.notValidAfter, timeZone: .gmt, formatOptions: .withFullDate)
                    FileHandle.standardError.write(Data(
                        ("gatehouse: warning: the certificate in tls_certificate \(certificate) expires on \(day): "
                            + "renew it (or `gatehouse web cert --force` for a self-signed one)\n").utf8))
                }
            }
            return WebServer(home: home, settings: settings, accounts: AccountService(store: try UserStore(home: home)))
        } catch {
            throw CommandFailure(
                status: .invalidInput, message: error.message, hint: "see the [web] section of docs/OPERATIONS.md")
        }
    }

    /// Refuses to go on unless this process runs as the owner of `home`, the gateway's user.
    static func requireGatewayUser(_ home: GatehouseHome, command: String) throws {
        // Packs from the Send page must be the gateway's, as `gatehouse send` makes them: a copy
        // owned by root (0600) is one the gateway could never read. So must the TLS key.
        var owner = stat()
        if stat(home.path, &owner) == 0, owner.st_uid != geteuid() {
            throw CommandFailure(
                status: .ioError, message: "\(command) must run as the gateway's user (the owner of \(home.path))",
                hint: "run it as that user, e.g. `sudo -u USER \(command) --home \(home.path)`")
        }
    }

    func run() async throws {
        let home = try homeOptions.initialised()
        let server = try Self.server(home: home, config: try GatehouseConfig.load(home: home), listen: listen)
        let settings = server.settings
        let host = settings.listen.split(separator: ":").dropLast().joined(separator: ":")
        try await server.run { port in
            // Printed once the socket is bound (scripts and tests wait for this line).
            let scheme = settings.servesTLS ? "https" : "http"
            print("gatehouse web: serving on \(scheme)://\(host):\(port)/")
            fflush(nil)
        }
    }
}
