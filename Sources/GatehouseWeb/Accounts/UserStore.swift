import Foundation
import GRDB
import GatehouseKit
import Glibc

/// One staff account as stored.
package struct Account: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    package static var databaseTableName: String { "account" }

    package var name: String
    package var role: Role
    /// Argon2id, PHC string format (libsodium `crypto_pwhash_str`).
    package var passwordHash: String
    /// The confirmed TOTP secret; nil until enrolled at the first sign-in (or after a reset).
    package var totpSecret: [UInt8]?
    /// The last TOTP step accepted: a code is never accepted twice.
    package var totpLastStep: Int64
    package var disabled: Bool
    /// Consecutive failed sign-ins (password or code).
    package var failures: Int
    /// Signing in is refused until then (ms since the epoch), whatever is typed.
    package var lockedUntil: Int64
    package var createdAt: Int64
}

/// A *handled* mark on a received pack: who, when, and an optional note.
package struct HandledMark: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    package static var databaseTableName: String { "handled" }
    package var bundleID: String
    package var user: String
    package var at: Int64
    package var note: String
}

/// The web application's own store, `HOME/web/web.sqlite` (0600 in a 0700 folder): staff
/// accounts and *handled* marks. Kept apart from the gateway's journal, so the daemon's schema
/// and migrations never depend on the web pages.
package final class UserStore: Sendable {
    let queue: DatabaseQueue
    package let path: String

    /// The store's path under `home`.
    package static func path(home: GatehouseHome) -> String { home.path + "/web/web.sqlite" }

    /// Opens (creating if needed) the store for `home`.
    package convenience init(home: GatehouseHome) throws(WebError) {
        let folder = home.path + "/web"
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw .storage("cannot create \(folder): \(String(cString: strerror(errno)))")
        }
        try self.init(path: Self.path(home: home))
    }

    /// Opens (creating if needed) the store at `path`, created 0600 before SQLite touches it.
    package init(path: String) throws(WebError) {
        self.path = path
        // Password hashes and TOTP secrets: readable by the gateway's user only. SQLite gives
        // its -wal and -shm files the database file's mode.
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .storage("cannot open \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        fstat(fd, &info)
        close(fd)
        guard info.st_mode & 0o077 == 0 else {
            throw .storage(
                "\(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); "
                    + "it holds password hashes: chmod 600 it")
        }
        do {
            var config = Configuration()
            config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            config.busyMode = .timeout(10)
            queue = try DatabaseQueue(path: path, configuration: config)
            try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE account (
                            name TEXT PRIMARY KEY NOT NULL, role TEXT NOT NULL, passwordHash TEXT NOT NULL,
                            totpSecret BLOB, totpLastStep INTEGER NOT NULL, disabled INTEGER NOT NULL,
                            failures INTEGER NOT NULL, lockedUntil INTEGER NOT NULL, createdAt INTEGER NOT NULL);
                        CREATE TABLE handled (
                            bundleID TEXT PRIMARY KEY NOT NULL, user TEXT NOT NULL, at INTEGER NOT NULL,
                        note TEXT NOT NULL);
                        """)
            }
            migrator.registerMigration("intake-v1") { db in try IntakeTables.create(db) }
            migrator.registerMigration("intake-v2") { db in try IntakeTables.addCommitted(db) }
            try migrator.migrate(queue)
        } catch { throw .storage("the web store \(path): \(error)") }
    }

    /// The account named `name`, if any.
    package func account(_ name: String) throws(WebError) -> Account? {
        try run { db in try Account.fetchOne(db, key: name) }
    }

    /// Every account, by name.
    package func accounts() throws(WebError) -> [Account] {
        try run { db in try Account.order(Column("name")).fetchAll(db) }
    }

    /// Adds `account`; refuses an existing name.
    package func add(_ account: Account) throws(WebError) {
        let added: Bool = try run { db in
            guard try Account.fetchOne(db, key: account.name) == nil else { return false }
            try account.insert(db)
            return true
        }
        guard added else { throw .invalidInput("an account named \(account.name) exists already") }
    }

    /// Changes the stored account through `change`, in one transaction; returns it, or nil when
    /// there is none.
    @discardableResult
    package func update(
        _ name: String, _ change: @Sendable @escaping (inout Account) -> Void
    ) throws(WebError) -> Account? {
        try run { db in
            guard var account = try Account.fetchOne(db, key: name) else { return nil }
            change(&account)
            try account.update(db)
            return account
        }
    }

    /// Records a *handled* mark (the latest replaces an earlier one).
    package func markHandled(_ mark: HandledMark) throws(WebError) {
        try run { db in try mark.save(db) }
    }

    /// The marks on `bundleIDs`.
    package func handled(_ bundleIDs: [String]) throws(WebError) -> [String: HandledMark] {
        guard !bundleIDs.isEmpty else { return [:] }
        return try run { db in
            let marks = try HandledMark.filter(bundleIDs.contains(Column("bundleID"))).fetchAll(db)
            return Dictionary(marks.map { ($0.bundleID, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }

    func run<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) throws(WebError) -> T {
        do { return try queue.write(body) } catch { throw .storage("the web store \(path): \(error)") }
    }
}
