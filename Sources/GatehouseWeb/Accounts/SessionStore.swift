import GatehouseCrypto

/// One browser's session. Held in memory only: restarting `gatehouse web` signs everyone out.
package struct WebSession: Sendable, Equatable {
    /// How far sign-in has got.
    package enum Stage: Sendable, Equatable {
        /// Not signed in (the sign-in form's CSRF token lives here).
        case anonymous
        /// Password accepted; the TOTP code is next.
        case needsCode
        /// Password accepted, no TOTP secret yet: enrolling this pending one.
        case enrolling(secret: [UInt8])
        /// Signed in.
        case signedIn
    }

    /// 32 random bytes, base64url: the cookie value.
    package let id: String
    package var stage: Stage
    package var user: String?
    package var role: Role?
    /// The token every form must return (compared in constant time).
    package let csrf: String
    /// When the session began (sign-in restarts it with a new id).
    package let createdAt: Int64
    package var lastSeen: Int64

    package var isSignedIn: Bool { stage == .signedIn && user != nil && role != nil }
}

/// Sessions by id, with idle and absolute time-outs. The id changes at every step of sign-in,
/// so an id planted in a browser before sign-in (session fixation) never becomes a signed-in one.
package actor SessionStore {
    private var sessions: [String: WebSession] = [:]
    package let clock: WebClock
    package let idleTimeout: Int64
    package let lifetime: Int64
    /// More sessions than this and the oldest anonymous ones are dropped (a flood of sign-in
    /// page views must not grow memory without bound).
    package let capacity: Int

    package init(clock: WebClock, idleTimeout: Int64, lifetime: Int64, capacity: Int = 20_000) {
        self.clock = clock
        self.idleTimeout = idleTimeout
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// A new anonymous session.
    package func create() -> WebSession {
        let now = clock.now()
        if sessions.count >= capacity { evict(now: now) }
        let session = WebSession(
            id: Self.newID(), stage: .anonymous, user: nil, role: nil, csrf: Self.newID(),
            createdAt: now, lastSeen: now)
        sessions[session.id] = session
        return session
    }

    /// The live session with `id`, its idle clock restarted; nil (and forgotten) when unknown,
    /// idle too long or past its lifetime.
    package func touch(_ id: String) -> WebSession? {
        let now = clock.now()
        guard var session = sessions[id] else { return nil }
        guard now - session.lastSeen < idleTimeout, now - session.createdAt < lifetime else {
            sessions[id] = nil
            return nil
        }
        session.lastSeen = now
        sessions[id] = session
        return session
    }

    /// Moves `old` to a new id (and a new CSRF token) in stage `stage` for `user`: called at each
    /// step of sign-in. Returns the new session; the old id is dead.
    package func advance(_ old: String, to stage: WebSession.Stage, user: String, role: Role) -> WebSession {
        let previous = sessions.removeValue(forKey: old)
        let now = clock.now()
        // The lifetime counts from the password step, so the two steps share one clock.
        let started = stage == .signedIn ? (previous?.createdAt ?? now) : now
        let session = WebSession(
            id: Self.newID(), stage: stage, user: user, role: role, csrf: Self.newID(),
            createdAt: started, lastSeen: now)
        sessions[session.id] = session
        return session
    }

    /// Ends the session `id`.
    package func end(_ id: String) { sessions[id] = nil }

    /// Ends every session of `user` (disabled or reset).
    package func endAll(of user: String) { sessions = sessions.filter { $0.value.user != user } }

    private func evict(now: Int64) {
        sessions = sessions.filter { now - $0.value.lastSeen < idleTimeout && now - $0.value.createdAt < lifetime }
        guard sessions.count >= capacity else { return }
        let anonymous = sessions.values.filter { $0.stage == .anonymous }.sorted { $0.lastSeen < $1.lastSeen }
        for session in anonymous.prefix(max(1, sessions.count - capacity + 1)) { sessions[session.id] = nil }
    }

    /// 32 random bytes as base64url without padding (43 characters).
    static func newID() -> String {
        Base64URL.encode(randomBytes(32))
    }
}

/// Base64url without padding (RFC 4648 §5), for cookie values and tokens.
package enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    package static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let chunk = bytes[i..<min(i + 3, bytes.count)]
            var value: UInt32 = 0
            for (k, b) in chunk.enumerated() { value |= UInt32(b) << (16 - 8 * UInt32(k)) }
            for k in 0...chunk.count { out.append(alphabet[Int((value >> (18 - 6 * UInt32(k))) & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
