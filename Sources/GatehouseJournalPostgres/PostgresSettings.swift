import Foundation
public import GatehouseJournal
public import GatehouseKit
import PostgresNIO

/// How to reach the PostgreSQL journal: from `[journal]` in gatehouse.toml, the password read
/// from its file.
public struct PostgresSettings: Sendable {
    let connection: PostgresConnection.Configuration
    /// `PostgreSQL at HOST:PORT/DATABASE as USER`, for messages (never the password).
    public let describe: String
    /// A node's lease.
    public let lease: Duration

    /// Settings from `[journal]`; reads the password file and refuses one others may read.
    public init(_ journal: JournalSettings) throws(JournalError) {
        guard let url = URLComponents(string: journal.url), ["postgres", "postgresql"].contains(url.scheme ?? ""),
              let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty else {
            throw .configuration("the journal url \(journal.url) is not postgres://USER@HOST[:PORT]/DATABASE")
        }
        guard url.password == nil else {
            throw .configuration("the journal url holds a password",
                                 hint: "put the password in a file named by 'password_file' under [journal]")
        }
        let database = url.path.isEmpty ? user : String(url.path.dropFirst())
        let port = url.port ?? 5432
        let password = try journal.passwordFile.map { (path) throws(JournalError) in try Self.password(from: path) }
        let tls: PostgresConnection.Configuration.TLS
        switch journal.tls {
        case .disable: tls = .disable
        case .require:
            do {
                var configuration = TLSConfiguration.makeClientConfiguration()
                configuration.certificateVerification = .fullVerification
                if let ca = journal.caFile { configuration.trustRoots = .file(ca) }
                tls = .require(try NIOSSLContext(configuration: configuration))
            } catch {
                throw .configuration("TLS for the journal cannot be set up: \(error)",
                                     hint: "check 'ca_file' under [journal], or set tls = \"disable\" for a database on loopback")
            }
        }
        var connection = PostgresConnection.Configuration(host: host, port: port, username: user, password: password,
                                                          database: database, tls: tls)
        connection.options.connectTimeout = .seconds(5)
        self.connection = connection
        describe = "PostgreSQL at \(host):\(port)/\(database) as \(user)"
        lease = journal.lease
    }

    /// The first line of `path`; refused when its group or others may read it (as libpq
    /// refuses a ~/.pgpass open to others).
    static func password(from path: String) throws(JournalError) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw .configuration("the journal's password file \(path) cannot be read: \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & 0o077 == 0 else {
            let mode = String(info.st_mode & 0o777, radix: 8)
            throw .configuration("the journal's password file \(path) is open to others (mode 0\(mode))",
                                 hint: "chmod 600 \(path)")
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .configuration("the journal's password file \(path) cannot be read as UTF-8 text")
        }
        return String(text.prefix { $0 != "\n" && $0 != "\r" })
    }
}
