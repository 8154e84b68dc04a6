/// `[journal]` in gatehouse.toml: where the journal lives. Without it, the journal is the SQLite
/// file `spool/journal.sqlite` (one gateway); with `url`, it is a PostgreSQL database shared by
/// several nodes and organisations.
public struct JournalSettings: Sendable, Equatable {
    /// How the connection to PostgreSQL is protected.
    public enum TLS: String, Sendable, Equatable {
        /// TLS with the server's certificate checked against the system's trusted roots (or
        /// `ca_file`) and its name against the url's host.
        case require
        /// No TLS: only for a database on loopback or a Unix socket's host.
        case disable
    }

    /// `postgres://USER@HOST:PORT/DATABASE` (never with a password).
    public var url: String
    /// A file holding the password (mode 0600 or stricter), or nil for none.
    public var passwordFile: String?
    /// TLS; `require` unless set.
    public var tls: TLS = .require
    /// Trusted root certificates (PEM) for `tls = "require"`, instead of the system's.
    public var caFile: String?
    /// This node's id, unique among the nodes sharing the database; the host name unless set.
    public var node: String?
    /// How long a node's lease runs without a heartbeat: after it, a dead node's work is taken over.
    public var lease: Duration = .seconds(6)

    /// Settings for `url`.
    public init(url: String) { self.url = url }

    /// Checks a url's shape: `postgres://` or `postgresql://`, a user and host, and no password
    /// (a password in gatehouse.toml would be readable by everyone who may read the settings).
    public static func checkURL(_ text: String) -> String? {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            return "expected a quoted url like \"postgres://gatehouse@db.example.net:5432/gatehouse\""
        }
        let rest = text.drop { $0 != "/" }.dropFirst(2)
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard let at = authority.lastIndex(of: "@"), !authority[..<at].isEmpty else {
            return "the url names no user (postgres://USER@HOST/DATABASE)"
        }
        if authority[..<at].contains(":") {
            return "a password in the url would sit in gatehouse.toml: put it in a file named by 'password_file' (mode 0600)"
        }
        return nil
    }
}
