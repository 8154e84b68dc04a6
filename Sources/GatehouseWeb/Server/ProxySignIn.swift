import GatehouseKit
import HTTPTypes
import Hummingbird

/// Sign-in by a single-sign-on proxy in front (`[web] trusted_proxy_user_header`): the proxy
/// checked the smartcard or password and names the account in a header. Gatehouse still decides
/// who that is: the account must exist here and be enabled, and its role is the one in the
/// account store; the proxy never grants a role.
extension WebApp {
    /// What the trusted header decides for this request, or nil to fall back to the session
    /// (the setting is off, or the header is absent and password sign-in is on too).
    ///
    /// - the header names the session's own account: that viewer;
    /// - it names another: the session ends (a browser's session never rides across users) and
    ///   the named account is signed in afresh;
    /// - no session yet: a new signed-in session, and a redirect that sets its cookie;
    /// - an unknown, disabled or malformed name: 403 and an audit line.
    func proxyViewer(_ request: Request, _ context: WebContext) async -> Gate? {
        // Off: the header is ignored entirely, whatever a client puts in it.
        guard let header = proxyHeader else { return nil }
        let values = request.headers[values: header]
        if values.isEmpty {
            if settings.passwordSignIn { return nil }
            // Proxy-only: a request the proxy did not vouch for (one that went around it, or an
            // unauthenticated path) is not signed in, whatever cookie it carries.
            return .denied(redirect("/signin"))
        }
        // Two values mean a client's copy got through beside the proxy's: believe neither.
        let name = values.count == 1 ? values[0] : ""
        let address = clientAddress(request, context)
        if let session = await session(request), let user = session.user {
            if user == name, session.isSignedIn, let account = try? accounts.store.account(name), !account.disabled {
                return .allowed(Viewer(session: session, account: account, address: address))
            }
            await sessions.end(session.id)
            if user != name {
                audit.record("web-signout", user: user, address: address, detail: "reason=proxy-user-changed")
            }
        }
        return .denied(await proxySignIn(name, request, address: address))
    }

    /// Signs `name` in as the proxy said, or refuses: the response either way.
    private func proxySignIn(_ name: String, _ request: Request, address: String) async -> Response {
        // The same rule as typed names: "mo.manager from=10.9.9.9" must not pass for another
        // account or address in the audit log, so a malformed name is never written there.
        guard (try? UserName.validate(name)) != nil else {
            audit.record("web-signin-refused", address: address, detail: "factors=sso-proxy name=malformed")
            return problem(
                .forbidden, "You cannot sign in to Gatehouse",
                "The sign-in service did not send a usable Gatehouse account name. Ask an administrator.",
                viewer: nil)
        }
        let account: Account?
        do {
            account = try accounts.store.account(name)
        } catch {
            return problem(
                .serviceUnavailable, "Sign-in is not available",
                "Gatehouse could not read its accounts. Try again in a minute, or ask an administrator.", viewer: nil)
        }
        // An intake account is a machine's, never a person's: no proxy signs one in to the pages.
        guard let account, !account.disabled, account.role != .intake else {
            let reason = account == nil ? "unknown-account" : account?.role == .intake ? "intake-account" : "disabled"
            audit.record(
                "web-signin-refused", user: name, address: address, detail: "factors=sso-proxy reason=\(reason)")
            return problem(
                .forbidden, "You cannot use Gatehouse",
                "You signed in as \(name), but Gatehouse has no enabled account of that name. Ask an "
                    + "administrator to add or enable it.", viewer: nil)
        }
        let fresh = await sessions.create()
        let signedIn = await sessions.advance(fresh.id, to: .signedIn, user: name, role: account.role)
        audit.record("web-signin", user: name, address: address, detail: "factors=sso-proxy")
        return redirect(Self.returnPath(request), cookie: cookie(signedIn.id))
    }

    /// Where to go once the new session's cookie is set: the page asked for (GET), else the start.
    /// Never a path starting "//" or holding a backslash, which a browser reads as another site.
    static func returnPath(_ request: Request) -> String {
        let path = request.uri.path
        guard request.method == .get, path.hasPrefix("/"), !path.hasPrefix("//"), !path.contains("\\"),
            !path.hasPrefix("/signin")
        else { return "/" }
        return request.uri.query.map { "\(path)?\($0)" } ?? path
    }
}
