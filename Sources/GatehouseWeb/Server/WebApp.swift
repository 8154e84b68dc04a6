import Foundation
import GatehouseJournal
import Synchronization
import GatehouseCrypto
import GatehouseKit
import HTTPTypes
import Hummingbird

/// The web application's state and the pieces every page uses: who is asking (session and
/// account), CSRF checks, responses, and the audit trail.
final class WebApp: Sendable {
    let home: GatehouseHome
    let settings: WebSettings
    let accounts: AccountService
    let sessions: SessionStore
    let renderer = PageRenderer()
    let audit: WebAudit
    /// The journal once opened (see ``journal()``).
    let openJournal = Mutex<(any Journal)?>(nil)
    /// `trusted_proxy_user_header`, nil when off: then no header signs anyone in.
    let proxyHeader: HTTPField.Name?
    /// Intake requests being handled now, as "client key": a reservation not yet committed and
    /// not in here belongs to a request that died (IntakeRoutes).
    let intakeInFlight = Mutex<Set<String>>([])
    /// Wrong bearer tokens by client address (``AddressThrottle``).
    let tokenThrottle = Mutex(AddressThrottle())

    init(home: GatehouseHome, settings: WebSettings, accounts: AccountService) {
        self.home = home
        self.settings = settings
        self.accounts = accounts
        sessions = SessionStore(
            clock: accounts.clock, idleTimeout: Self.milliseconds(settings.idleTimeout),
            lifetime: Self.milliseconds(settings.sessionLifetime))
        audit = WebAudit(home: home)
        proxyHeader = settings.trustedProxyUserHeader.flatMap { HTTPField.Name($0) }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// The session cookie's name: `__Host-` (Secure, host-only, path /) when browsers use
    /// HTTPS (this server's own TLS, or a proxy's in front).
    var cookieName: String { settings.browsersUseTLS ? "__Host-gatehouse" : "gatehouse" }

    /// A signed-in person making a request.
    struct Viewer: Sendable {
        let session: WebSession
        let account: Account
        let address: String
        var name: String { account.name }
    }

    /// The session named by the request's cookie, if live.
    func session(_ request: Request) async -> WebSession? {
        guard let id = request.cookies[cookieName]?.value, !id.isEmpty else { return nil }
        return await sessions.touch(id)
    }

    /// The signed-in viewer allowed by `allowed`, or the response to send instead: sign-in for
    /// anyone not signed in, 403 for a role that may not see the page. The account is read again
    /// on every request, so disabling it or changing its role applies at once.
    func gate(_ request: Request, _ context: WebContext, _ allowed: (Role) -> Bool) async throws -> Gate {
        let viewer: Viewer
        switch await signedIn(request, context) {
        case .allowed(let signedIn): viewer = signedIn
        case .denied(let response): return .denied(response)
        }
        guard allowed(viewer.account.role) else {
            audit.record("web-forbidden", viewer: viewer, detail: "path=\(Self.auditPath(request))")
            return .denied(
                problem(
                    .forbidden, "You cannot use this page",
                    "Your account's role does not allow it. Ask an administrator.", viewer: viewer))
        }
        return .allowed(viewer)
    }

    /// The signed-in viewer, from the trusted proxy's header when that is on (see
    /// ``proxyViewer(_:_:)``), else from the session; or sign-in.
    func signedIn(_ request: Request, _ context: WebContext) async -> Gate {
        if let decided = await proxyViewer(request, context) { return decided }
        guard let session = await session(request), session.isSignedIn, let name = session.user,
            let account = try? accounts.store.account(name), !account.disabled
        else {
            return .denied(redirect("/signin"))
        }
        return .allowed(Viewer(session: session, account: account, address: clientAddress(request, context)))
    }

    /// Runs `body` for the signed-in viewer allowed by `allowed`; otherwise answers as
    /// ``gate(_:_:_:)`` decided (sign-in, or 403).
    func guarded(
        _ request: Request, _ context: WebContext, _ allowed: (Role) -> Bool,
        _ body: (Viewer) async throws -> Response
    ) async throws -> Response {
        switch try await gate(request, context, allowed) {
        case .allowed(let viewer): try await body(viewer)
        case .denied(let response): response
        }
    }

    /// The client's address for the audit log. Behind a TLS proxy on this machine, the address
    /// the proxy names in `X-Forwarded-For` (nginx: `proxy_set_header X-Forwarded-For
    /// $remote_addr`), with the proxy's own after `via`; the header is believed only from a
    /// loopback peer, only when `behind_tls_proxy` is set, and only if it looks like an address.
    func clientAddress(_ request: Request, _ context: WebContext) -> String {
        let peer = context.remoteAddress
        guard settings.behindTLSProxy, peer == "127.0.0.1" || peer == "::1",
            let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!]?.split(separator: ",").last
        else { return peer }
        let address = forwarded.trimmingCharacters(in: .whitespaces)
        guard (2...45).contains(address.utf8.count),
            address.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0)
                || (0x41...0x46).contains($0) || $0 == 0x2E || $0 == 0x3A })
        else { return peer }
        return "\(address) via=\(peer)"
    }

    /// The request's path for the audit log: routes carry only bundle ids and numbers, never
    /// patient data; limited in length anyway.
    static func auditPath(_ request: Request) -> String { String(request.uri.path.prefix(100)) }

    /// Reads a form body (at most 64 KiB) and checks its CSRF token against `session`, and that
    /// the browser did not mark the request cross-site. Nil when either check fails.
    func form(_ request: Request, session: WebSession?) async throws -> FormFields? {
        var request = request
        if request.headers[HTTPField.Name("Sec-Fetch-Site")!] == "cross-site" { return nil }
        let body = try await request.collectBody(upTo: 64 * 1024)
        let fields = FormFields(body.readableBytesView)
        guard let session, Self.tokensMatch(fields["csrf"], session.csrf) else { return nil }
        return fields
    }

    static func tokensMatch(_ given: String, _ expected: String) -> Bool {
        !expected.isEmpty && constantTimeEqualStrings(given, expected)
    }

    // MARK: Responses

    /// What ``gate(_:_:_:)`` decided.
    enum Gate {
        case allowed(Viewer)
        /// The response to send instead (sign-in, or 403).
        case denied(Response)
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers: HTTPFields = [.location: location]
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    /// The Set-Cookie value for session `id` (or clearing it when nil).
    func cookie(_ id: String?) -> String {
        // Secure: a browser never sends the session over plain HTTP (a downgraded or mistyped
        // http:// link) once the pages are served over HTTPS.
        let secure = settings.browsersUseTLS ? "; Secure" : ""
        guard let id else { return "\(cookieName)=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict\(secure)" }
        return "\(cookieName)=\(id); Path=/; HttpOnly; SameSite=Strict\(secure)"
    }

    func chrome(_ viewer: Viewer?) -> [String: Any] {
        guard let viewer else { return [:] }
        return [
            "user": viewer.name, "role": viewer.account.role.rawValue, "csrf": viewer.session.csrf,
            "inbox": viewer.account.role.readsInbox, "sends": viewer.account.role.sends,
            "admin": viewer.account.role == .admin,
        ]
    }

    func page(
        _ name: String, title: String, _ values: [String: Any], viewer: Viewer?,
        status: HTTPResponse.Status = .ok, cookie: String? = nil, refresh: Int? = nil
    ) -> Response {
        var chrome = chrome(viewer)
        if let refresh { chrome["refresh"] = "\(refresh)" }
        var response = html(renderer.page(name, title: title, values: values, chrome: chrome), status: status)
        if let cookie { response.headers[.setCookie] = cookie }
        return response
    }

    func problem(_ status: HTTPResponse.Status, _ heading: String, _ message: String, viewer: Viewer?) -> Response {
        page("problem", title: heading, ["heading": heading, "message": message], viewer: viewer, status: status)
    }

    func refusedForm(viewer: Viewer?) -> Response {
        problem(
            .forbidden, "The form has expired",
            "The page was open too long, or the request did not come from this site. Go back, reload and try again.",
            viewer: viewer)
    }
}

/// Constant-time comparison of two tokens' UTF-8 bytes.
func constantTimeEqualStrings(_ a: String, _ b: String) -> Bool {
    constantTimeEqual(Array(a.utf8), Array(b.utf8))
}
