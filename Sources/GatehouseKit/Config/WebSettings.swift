/// The staff web application's settings (`[web]` in gatehouse.toml): where `gatehouse web`
/// listens and how long a sign-in lasts.
public struct WebSettings: Sendable, Equatable {
    /// `HOST:PORT` to listen on: any address with ``tlsCertificate`` (HTTPS), else plain HTTP on
    /// a loopback address only (behind a reverse proxy that terminates TLS).
    public var listen = "127.0.0.1:8443"
    /// `tls_certificate`: the PEM certificate (chain, server's first) served over HTTPS; nil for
    /// plain HTTP. Set with ``tlsKey`` (both or neither).
    public var tlsCertificate: String?
    /// `tls_key`: the PEM private key of ``tlsCertificate`` (mode 0600, like every secret key).
    public var tlsKey: String?
    /// A session unused for this long is signed out.
    public var idleTimeout: Duration = .seconds(15 * 60)
    /// A session ends this long after sign-in, however busy.
    public var sessionLifetime: Duration = .seconds(8 * 3600)
    /// The most one upload on the Send page may add up to.
    public var uploadMaxBytes: Int64 = 2 << 30
    /// Whether a second factor (TOTP) is required; off only for a deployment whose proxy
    /// already signs staff in with two factors.
    public var totpRequired = true
    /// Set when a reverse proxy in front terminates TLS: session cookies are marked Secure.
    public var behindTLSProxy = false
    /// Whether `gatehouse web` serves HTTPS itself (``tlsCertificate`` is set).
    public var servesTLS: Bool { tlsCertificate != nil }
    /// Whether browsers reach the pages over HTTPS, by this server or a proxy in front: then
    /// cookies are Secure (`__Host-`) and HSTS is sent.
    public var browsersUseTLS: Bool { servesTLS || behindTLSProxy }
    /// `trusted_proxy_user_header`: the request header in which a single-sign-on proxy in front
    /// (e.g. one doing NHS Smartcard/CIS2 sign-in) names the signed-in account. Nil (the
    /// default): no header signs anyone in, whatever a request carries.
    public var trustedProxyUserHeader: String?
    /// `password_signin` as written, nil when absent: see ``passwordSignIn``.
    public var passwordSignInSetting: Bool?

    /// Whether the password (and TOTP) sign-in form is offered: as `password_signin` says, else
    /// on without a trusted proxy header and off with one (the proxy is then the only way in, so
    /// a password guessed or phished cannot go around the proxy's smartcard check).
    public var passwordSignIn: Bool { passwordSignInSetting ?? (trustedProxyUserHeader == nil) }

    /// The defaults.
    public init() {}

    /// Reads one `web.*` key.
    mutating func set(_ key: String, _ entry: ConfigReader.Entry, _ at: (String) -> KitError) throws(KitError) {
        switch (key, entry.value) {
        case ("web.listen", .string(let text)) where !text.isEmpty: listen = text
        case ("web.idle_timeout", .string(let text)):
            guard let value = GatehouseConfig.parseDuration(text) else { throw at("expected a duration like \"15m\"") }
            idleTimeout = value
        case ("web.session_lifetime", .string(let text)):
            guard let value = GatehouseConfig.parseDuration(text) else { throw at("expected a duration like \"8h\"") }
            sessionLifetime = value
        case ("web.upload_max_mb", .integer(let mb)) where (1...1_048_576).contains(mb):
            uploadMaxBytes = Int64(mb) << 20
        case ("web.totp", .boolean(let on)): totpRequired = on
        case ("web.behind_tls_proxy", .boolean(let on)): behindTLSProxy = on
        case ("web.tls_certificate", .string(let path)) where path.utf8.first == UInt8(ascii: "/"):
            tlsCertificate = path
        case ("web.tls_key", .string(let path)) where path.utf8.first == UInt8(ascii: "/"):
            tlsKey = path
        case ("web.tls_certificate", _), ("web.tls_key", _): throw at("expected a quoted absolute path")
        case ("web.trusted_proxy_user_header", .string(let name)):
            if let problem = Self.proxyHeaderProblem(name) { throw at(problem) }
            trustedProxyUserHeader = name
        case ("web.password_signin", .boolean(let on)): passwordSignInSetting = on
        case ("web.listen", _), ("web.idle_timeout", _), ("web.session_lifetime", _), ("web.upload_max_mb", _),
            ("web.totp", _), ("web.behind_tls_proxy", _), ("web.trusted_proxy_user_header", _),
            ("web.password_signin", _):
            throw at("bad value (see `gatehouse config check --default`)")
        default: throw at("unknown key (see `gatehouse config check --default` for every key)")
        }
    }

    /// Why the TLS keys cannot be used as written, or nil: `tls_certificate` and `tls_key` come
    /// together (a certificate without its key could not be served; a key alone is a mistake).
    public var tlsPairProblem: String? {
        switch (tlsCertificate, tlsKey) {
        case (nil, nil), (.some, .some): nil
        case (.some, nil): "tls_certificate needs tls_key (the certificate's private key)"
        case (nil, .some): "tls_key needs tls_certificate (the certificate of that key)"
        }
    }

    /// Why `name` cannot be the trusted proxy user header, or nil when it can: a plain token
    /// (letters, digits, '-'; 1 to 64 bytes, a letter first), and no header a browser or a proxy
    /// sets by itself. Such a header reaches the server with the client's own value whenever the
    /// proxy fails to replace it (Cookie, Host, Authorization, the X-Forwarded-* family, Sec-*),
    /// so it could never be trusted to name an account.
    public static func proxyHeaderProblem(_ name: String) -> String? {
        let bytes = Array(name.utf8)
        let isLetter = { (b: UInt8) in (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        guard (1...64).contains(bytes.count), isLetter(bytes[0]),
            bytes.allSatisfy({ isLetter($0) || (0x30...0x39).contains($0) || $0 == 0x2D })
        else {
            return "\(name.debugDescription) is not a plain header name: 1 to 64 of A-Z, a-z, 0-9 and '-', "
                + "starting with a letter (e.g. \"X-Remote-User\")"
        }
        let lower = name.lowercased()
        guard !browserHeaders.contains(lower), !browserHeaderPrefixes.contains(where: lower.hasPrefix) else {
            return "\(name) is a standard header that browsers or proxies set themselves; choose a header "
                + "of your own that the proxy sets, e.g. \"X-Remote-User\""
        }
        return nil
    }

    /// Headers (lowercased) that browsers, clients or proxies set: never an account's name.
    static let browserHeaders: Set<String> = [
        "host", "cookie", "cookie2", "authorization", "user-agent", "referer", "origin", "connection", "upgrade",
        "te", "trailer", "transfer-encoding", "keep-alive", "expect", "range", "via", "forwarded", "x-forwarded-for",
        "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-real-ip", "dnt", "priority", "pragma",
        "cache-control", "upgrade-insecure-requests", "save-data", "purpose", "x-requested-with", "date", "from",
        "max-forwards", "early-data", "x-csrf-token",
    ]
    /// Prefixes of header families browsers or proxies set (Accept-*, Content-*, Sec-*, If-*, …).
    static let browserHeaderPrefixes = ["accept", "content-", "sec-", "if-", "proxy-", "access-control-"]
}
