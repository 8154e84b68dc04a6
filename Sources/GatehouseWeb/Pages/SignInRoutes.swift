import Hummingbird

/// Sign-in in two steps: account name and password, then a TOTP code (enrolled here the first
/// time, with a QR code). The session id changes at each step, so an id planted before sign-in
/// is worthless after it.
extension WebApp {
    func addSignInRoutes(_ router: Router<WebContext>) {
        router.get("/signin") { request, context in await self.signInEntry(request, context) }
        router.post("/signin") { request, context in
            try await self.passwordStep(request) { try await self.signIn(request, context) }
        }
        router.get("/signin/code") { request, _ in await self.passwordStep(request) { await self.stagePage(request) } }
        router.post("/signin/code") { request, context in
            try await self.passwordStep(request) { try await self.code(request, context) }
        }
        router.get("/signin/enrol") { request, _ in await self.passwordStep(request) { await self.stagePage(request) } }
        router.get("/signin/enrol/qr.svg") { request, _ in await self.enrolmentQR(request) }
        router.post("/signin/enrol") { request, context in
            try await self.passwordStep(request) { try await self.code(request, context) }
        }
        router.post("/signout") { request, context in try await self.signOut(request, context) }
    }

    /// `GET /signin`: the trusted proxy's header, when on and present, signs in here as on any
    /// page; password sign-in off, a page pointing to the organisation's sign-in; else the form.
    func signInEntry(_ request: Request, _ context: WebContext) async -> Response {
        if let proxyHeader, !request.headers[values: proxyHeader].isEmpty {
            switch await signedIn(request, context) {
            case .allowed: return redirect("/")
            case .denied(let response): return response
            }
        }
        guard settings.passwordSignIn else { return proxyOnlyPage(.ok) }
        return await signInPage(request)
    }

    /// Runs a step of password sign-in, or refuses it when `password_signin` is off (the SSO
    /// proxy is then the only way in).
    func passwordStep(_ request: Request, _ step: () async throws -> Response) async rethrows -> Response {
        guard settings.passwordSignIn else { return proxyOnlyPage(.forbidden) }
        return try await step()
    }

    func proxyOnlyPage(_ status: HTTPResponse.Status) -> Response {
        problem(
            status, "Sign in through your organisation",
            "Gatehouse here signs staff in through your organisation's sign-in service (for example "
                + "NHS Care Identity with a smartcard), not with a password. Open Gatehouse from the "
                + "address your organisation gave you.", viewer: nil)
    }

    /// The sign-in form, in a fresh anonymous session (which carries the form's CSRF token).
    func signInPage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async -> Response {
        let session = await sessions.create()
        var values: [String: Any] = ["csrf": session.csrf]
        if let error { values["error"] = error }
        return page("signin", title: "Sign in", values, viewer: nil, status: status, cookie: cookie(session.id))
    }

    func signIn(_ request: Request, _ context: WebContext) async throws -> Response {
        let session = await session(request)
        guard let fields = try await form(request, session: session), let session else {
            return await signInPage(request, error: "The sign-in form expired. Try again.", status: .forbidden)
        }
        let name = fields["username"].lowercased()
        let refused =
            "The account name or password is not right, or the account is locked after repeated "
            + "failures. Try again later, or ask an administrator."
        let outcome =
            (try? UserName.validate(name)).map { _ in
                (try? accounts.checkPassword(name, fields["password"])) ?? .refused
            } ?? .refused
        guard case .accepted(let account) = outcome else {
            if case .locked = outcome {
                audit.record("web-signin-locked", user: name, address: clientAddress(request, context))
            } else {
                // Only a well-formed name is written: a typed "anna from=10.0.0.1" must not pass
                // for another account or address in the log.
                let wellFormed = (try? UserName.validate(name)) != nil
                audit.record(
                    "web-signin-failed", user: wellFormed ? name : nil, address: clientAddress(request, context),
                    detail: wellFormed ? "step=password" : "step=password name=malformed")
            }
            await sessions.end(session.id)
            return await signInPage(request, error: refused, status: .unauthorized)
        }
        if !settings.totpRequired {
            try? accounts.succeeded(name)
            let signedIn = await sessions.advance(session.id, to: .signedIn, user: name, role: account.role)
            audit.record("web-signin", user: name, address: clientAddress(request, context), detail: "factors=password")
            return redirect("/", cookie: cookie(signedIn.id))
        }
        let next: WebSession.Stage = account.totpSecret == nil ? .enrolling(secret: TOTP.newSecret()) : .needsCode
        let advanced = await sessions.advance(session.id, to: next, user: name, role: account.role)
        return redirect(next == .needsCode ? "/signin/code" : "/signin/enrol", cookie: cookie(advanced.id))
    }

    /// The code page or the enrolment page, for a session whose password step is done.
    func stagePage(_ request: Request, error: String? = nil, status: HTTPResponse.Status = .ok) async -> Response {
        guard let session = await session(request), let user = session.user else { return redirect("/signin") }
        var values: [String: Any] = ["csrf": session.csrf]
        if let error { values["error"] = error }
        switch session.stage {
        case .needsCode:
            return page("code", title: "Security code", values, viewer: nil, status: status)
        case .enrolling(let secret):
            let totp = TOTP(secret: secret)
            values["secret"] = Base32.encode(secret)
            values["uri"] = totp.uri(account: user, issuer: "Gatehouse")
            return page("enrol", title: "Set up your security code", values, viewer: nil, status: status)
        case .signedIn: return redirect("/")
        case .anonymous: return redirect("/signin")
        }
    }

    /// The enrolment QR code as SVG, for the session enrolling (nothing for anyone else).
    func enrolmentQR(_ request: Request) async -> Response {
        guard let session = await session(request), let user = session.user,
            case .enrolling(let secret) = session.stage,
            let svg = QRCode.svg(TOTP(secret: secret).uri(account: user, issuer: "Gatehouse"))
        else {
            return Response(status: .notFound)
        }
        return Response(
            status: .ok, headers: [.contentType: "image/svg+xml"],
            body: .init(byteBuffer: ByteBuffer(string: svg)))
    }

    func code(_ request: Request, _ context: WebContext) async throws -> Response {
        let session = await session(request)
        guard let fields = try await form(request, session: session), let session, let user = session.user,
            let role = session.role
        else {
            return await signInPage(request, error: "The sign-in form expired. Sign in again.", status: .forbidden)
        }
        let pending: [UInt8]?
        switch session.stage {
        case .needsCode: pending = nil
        case .enrolling(let secret): pending = secret
        default: return redirect("/")
        }
        let outcome = (try? accounts.checkCode(user, fields["code"], pendingSecret: pending)) ?? .refused
        switch outcome {
        case .accepted:
            let signedIn = await sessions.advance(session.id, to: .signedIn, user: user, role: role)
            audit.record(
                pending == nil ? "web-signin" : "web-totp-enrolled", user: user,
                address: clientAddress(request, context),
                detail: "factors=password,totp")
            return redirect("/", cookie: cookie(signedIn.id))
        case .locked:
            audit.record("web-signin-locked", user: user, address: clientAddress(request, context))
            await sessions.end(session.id)
            return await signInPage(
                request,
                error: "The account is locked after repeated failures. Try again later, "
                    + "or ask an administrator.", status: .unauthorized)
        case .refused:
            audit.record("web-signin-failed", user: user, address: clientAddress(request, context), detail: "step=totp")
            return await stagePage(
                request,
                error: "That code is not right. Check the time on your device and try the "
                    + "newest code.", status: .unauthorized)
        }
    }

    func signOut(_ request: Request, _ context: WebContext) async throws -> Response {
        let session = await session(request)
        guard try await form(request, session: session) != nil, let session else {
            return refusedForm(viewer: nil)
        }
        await sessions.end(session.id)
        audit.record("web-signout", user: session.user, address: clientAddress(request, context))
        return redirect("/signin", cookie: cookie(nil))
    }
}
