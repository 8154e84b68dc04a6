import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import Glibc
import HTTPTypes
import Hummingbird

/// The intake API [intake accounts, bearer token]: `POST /api/v1/packs` drops one pack into a
/// partner's outbox through the *Send* page's checks and ``PackDrop`` (the same path as
/// `gatehouse send`), idempotent by the client's `Idempotency-Key`; `GET /api/v1/packs/{pack}`
/// answers that client's own pack's state. Cookies are never read here, so no CSRF is possible,
/// and a token opens no page.
extension WebApp {
    /// Longest `Idempotency-Key` accepted.
    static let maxIdempotencyKey = 128

    func addIntakeRoutes(_ router: Router<WebContext>) {
        router.post("/api/v1/packs") { request, context in
            switch try await self.intakeClient(request, context) {
            case .allowed(let viewer): try await self.intake(request, viewer)
            case .denied(let response): response
            }
        }
        router.get("/api/v1/packs/{pack}") { request, context in
            switch try await self.intakeClient(request, context) {
            case .allowed(let viewer): try self.intakeState(context.parameters.get("pack") ?? "", viewer)
            case .denied(let response): response
            }
        }
    }

    /// The intake account named by the request's bearer token, or a JSON 401 (every failure
    /// audited, and counted against the client's address) or 429 while that address waits.
    func intakeClient(_ request: Request, _ context: WebContext) async throws -> Gate {
        let address = clientAddress(request, context)
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), !header.dropFirst(7).isEmpty else {
            audit.record("api-auth-failed", address: address, detail: "reason=no-token")
            return .denied(json(.unauthorized, ["error": "an Authorization: Bearer token is required"], bearer: true))
        }
        let token = String(header.dropFirst(7))
        let name = String(token.prefix { $0 != "." }.prefix(32))
        let now = accounts.clock.now()
        if let until = tokenThrottle.withLock({ $0.blockedUntil(address, now: now) }) {
            audit.record("api-auth-failed", user: Self.auditName(name), address: address, detail: "reason=throttled")
            return .denied(tooManyAttempts(until: until))
        }
        switch try accounts.checkToken(token) {
        case .accepted(let account):
            tokenThrottle.withLock { $0.succeeded(address) }
            let session = WebSession(
                id: "", stage: .signedIn, user: account.name, role: account.role, csrf: "", createdAt: 0, lastSeen: 0)
            return .allowed(Viewer(session: session, account: account, address: address))
        case .refused:
            tokenThrottle.withLock { $0.failed(address, now: now) }
            audit.record("api-auth-failed", user: Self.auditName(name), address: address, detail: "reason=refused")
            return .denied(json(.unauthorized, ["error": "the token is not valid"], bearer: true))
        case .locked(let until):
            audit.record("api-auth-failed", user: Self.auditName(name), address: address, detail: "reason=locked")
            return .denied(tooManyAttempts(until: until))
        }
    }

    /// 429 with the seconds to wait.
    func tooManyAttempts(until: Int64) -> Response {
        var response = json(.tooManyRequests, ["error": "too many failed attempts; try again later"])
        response.headers[.retryAfter] = "\(max(1, (until - accounts.clock.now()) / 1000))"
        return response
    }

    /// An account name for the audit log only when it is a valid one (never a token's secret).
    static func auditName(_ name: String) -> String {
        (try? UserName.validate(name)) != nil ? name : "-"
    }

    func intake(_ request: Request, _ viewer: Viewer) async throws -> Response {
        let key = request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
        guard (1...Self.maxIdempotencyKey).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else {
            return json(.badRequest, [
                "error": "Idempotency-Key is required: 1 to \(Self.maxIdempotencyKey) printable ASCII characters",
                "field": "Idempotency-Key",
            ])
        }
        guard let type = request.headers[.contentType], let boundary = Self.boundary(type) else {
            return json(.badRequest, ["error": "the body must be multipart/form-data"])
        }
        if let length = request.headers[.contentLength].flatMap({ Int64($0) }),
            length > settings.uploadMaxBytes + (1 << 20)
        {
            return closing(json(.contentTooLarge, ["error": "the body is over \(settings.uploadMaxBytes >> 20) MiB"]))
        }
        var partner: ODSCode?
        var checked: PackContext?
        let receiver = UploadReceiver(
            boundary: boundary, csrf: nil, limit: settings.uploadMaxBytes, repeatable: ["nhs_number"]
        ) { fields throws in
            var fields = fields
            // The API's field name; the Send page's check reads `nhs`.
            fields["nhs"] = fields["nhs_number"]
            let (org, context) = try self.checkSend(fields)
            partner = org
            checked = context
            return try self.openDrop(org)
        }
        do {
            for try await chunk in request.body { try receiver.feed(chunk) }
        } catch let refusal as UploadReceiver.Refusal {
            receiver.drop?.discard()
            var body = ["error": refusal.message]
            if let field = refusal.field { body["field"] = field == "nhs" ? "nhs_number" : field }
            return closing(json(HTTPResponse.Status(code: refusal.status), body))
        } catch {
            receiver.drop?.discard()
            throw error
        }
        guard receiver.isComplete else {
            receiver.drop?.discard()
            return json(.badRequest, ["error": "the body ended before the closing boundary"])
        }
        guard let drop = receiver.drop, let partner, let checked, let first = receiver.names.first else {
            receiver.drop?.discard()
            return json(.badRequest, ["error": "at least one file is required", "field": "files"])
        }
        var entry = IntakeKey(
            client: viewer.name, key: key, fingerprint: receiver.fingerprint.finalize().bytes, pack: drop.name,
            partner: partner.value, firstFile: "\(drop.outbox)/\(drop.name)/\(first)", files: receiver.names.count,
            createdAt: accounts.clock.now())
        // One request per key at a time in this process; a reservation that is neither committed
        // nor in flight here belongs to a request that died, and this one takes it over.
        let flight = "\(viewer.name) \(key)"
        guard intakeInFlight.withLock({ $0.insert(flight).inserted }) else {
            drop.discard()
            var response = json(.conflict, [
                "error": "a request with this Idempotency-Key is being handled; try again", "field": "Idempotency-Key",
            ])
            response.headers[.retryAfter] = "1"
            return response
        }
        defer { _ = intakeInFlight.withLock { $0.remove(flight) } }
        // The key is recorded before the pack is committed and marked committed after: a crash in
        // between leaves an uncommitted reservation, which the client's retry takes over; never a
        // pack queued twice, never a key that answers for a pack that was not queued.
        switch try accounts.store.reserve(entry) {
        case .replay(let earlier) where earlier.committed || packArrived(earlier):
            drop.discard()
            if !earlier.committed { try accounts.store.confirm(earlier) }
            var response = packAnswer(.created, earlier)
            response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true"
            return response
        case .replay(let abandoned):
            entry.createdAt = abandoned.createdAt
        case .conflict:
            drop.discard()
            return json(.conflict, [
                "error": "this Idempotency-Key was used with a different request", "field": "Idempotency-Key",
            ])
        case .reserved: break
        }
        do { _ = try drop.commit(context: checked) } catch {
            drop.discard()
            try? accounts.store.release(client: viewer.name, key: key)
            return json(.internalServerError, ["error": "the pack could not be queued: \(error)"])
        }
        try accounts.store.confirm(entry)
        audit.record(
            "api-send", viewer: viewer, detail: "to=\(partner.value) pack=\(drop.name) files=\(receiver.names.count)")
        return packAnswer(.created, entry)
    }

    /// True when an uncommitted reservation's pack did reach the outbox (the request died after
    /// committing, before marking it): still there, or already claimed by the gateway.
    func packArrived(_ entry: IntakeKey) -> Bool {
        if access(entry.firstFile, F_OK) == 0 { return true }
        return ((try? journal())?.flatMap { try? $0.claim(sourcePath: entry.firstFile, since: 0) }) != nil
    }

    /// Opens a ``PackDrop`` in `org`'s outbox, creating the folders as the *Send* page does.
    func openDrop(_ org: ODSCode) throws -> PackDrop {
        let layout = SpoolLayout(home: home)
        let outbox = "\(layout.outbox)/\(org.value)"
        for folder in [layout.root, layout.outbox, outbox] where mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw UploadReceiver.Refusal(status: 500, message: "The outbox folder \(folder) cannot be created.")
        }
        do { return try PackDrop(outbox: outbox, access: .private) } catch {
            throw UploadReceiver.Refusal(status: 500, message: "The pack cannot be started: \(error)")
        }
    }

    /// `GET /api/v1/packs/{pack}`: the pack's bundle and state from the journal; 404 for a pack
    /// this client did not send (another client's looks the same as none).
    func intakeState(_ pack: String, _ viewer: Viewer) throws -> Response {
        guard let entry = try accounts.store.intakePack(client: viewer.name, pack: pack) else {
            return json(.notFound, ["error": "no pack \(pack.prefix(64)) from this client"])
        }
        var body: [String: Any] = ["pack": entry.pack, "to": entry.partner, "files": entry.files, "state": "waiting"]
        if let journal = try journal(), let claim = try journal.claim(sourcePath: entry.firstFile, since: 0) {
            body["bundle"] = claim.bundleID.hex
            body["state"] = try journal.outgoing(claim.bundleID)?.state.rawValue ?? "queued"
        } else if access(entry.firstFile, F_OK) != 0 {
            // Gone from the outbox without a claim (claims are journalled first): refused.
            body["state"] = "refused"
        }
        return json(.ok, body)
    }

    func packAnswer(_ status: HTTPResponse.Status, _ entry: IntakeKey) -> Response {
        json(status, ["pack": entry.pack, "to": entry.partner, "files": entry.files, "state": "waiting"])
    }

    func json(_ status: HTTPResponse.Status, _ body: [String: Any], bearer: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        if bearer { headers[.wwwAuthenticate] = "Bearer realm=\"gatehouse\"" }
        let bytes = ByteBuffer(bytes: Self.jsonBytes(body))
        return Response(status: status, headers: headers, body: .init(byteBuffer: bytes))
    }

    static func jsonBytes(_ body: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)) + [0x0A]
    }

    /// The rest of the body is not read: the connection closes after the answer.
    func closing(_ response: Response) -> Response {
        var response = response
        response.headers[.connection] = "close"
        return response
    }
}
