/// The staff web application's settings (`[web]` in gatehouse.toml): where `gatehouse web`
/// listens and how long a sign-in lasts.
public struct WebSettings: Sendable, Equatable {
    /// `HOST:PORT` to listen on; plain HTTP, so a loopback address (behind a reverse proxy that
    /// terminates TLS) unless the operator says TLS is terminated in front of it.
    public var listen = "127.0.0.1:8443"
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
        case ("web.listen", _), ("web.idle_timeout", _), ("web.session_lifetime", _), ("web.upload_max_mb", _),
            ("web.totp", _), ("web.behind_tls_proxy", _):
            throw at("bad value (see `gatehouse config check --default`)")
        default: throw at("unknown key (see `gatehouse config check --default` for every key)")
        }
    }
}
