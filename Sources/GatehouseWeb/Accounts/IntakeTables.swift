import GRDB
import GatehouseCrypto

/// One intake client's API token, stored as SHA-256 of its secret part only.
package struct APIToken: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    package static var databaseTableName: String { "api_token" }
    package var name: String
    package var secretHash: [UInt8]
}

/// An `Idempotency-Key` an intake client used, with the request's fingerprint and the answer.
package struct IntakeKey: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    package static var databaseTableName: String { "intake_key" }
    package var client: String
    package var key: String
    /// SHA-256 over the request's fields, file names and bytes (not the multipart framing, which
    /// a client library draws afresh for each attempt).
    package var fingerprint: [UInt8]
    package var pack: String
    package var partner: String
    /// The pack's first file in the outbox: the journal's claim names it.
    package var firstFile: String
    package var files: Int
    package var createdAt: Int64
    /// True once the pack is in the outbox; a reservation left false belongs to a request that
    /// died between reserving and committing (migration `intake-v2`).
    package var committed: Bool = false
}

/// The intake API's tables in the web store (migration `intake-v1`).
enum IntakeTables {
    static func create(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE api_token (name TEXT PRIMARY KEY NOT NULL, secretHash BLOB NOT NULL);
                CREATE TABLE intake_key (
                    client TEXT NOT NULL, key TEXT NOT NULL, fingerprint BLOB NOT NULL, pack TEXT NOT NULL,
                    partner TEXT NOT NULL, firstFile TEXT NOT NULL, files INTEGER NOT NULL,
                    createdAt INTEGER NOT NULL, PRIMARY KEY (client, key));
                CREATE INDEX intake_key_pack ON intake_key (client, pack);
                """)
    }

    /// `committed`: keys recorded before it were all answered with a committed pack.
    static func addCommitted(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE intake_key ADD COLUMN committed BOOLEAN NOT NULL DEFAULT 1")
    }
}

extension UserStore {
    /// Stores (or replaces) `name`'s token hash.
    package func setToken(_ token: APIToken) throws(WebError) { try run { db in try token.save(db) } }

    /// `name`'s token hash, if it has one.
    package func token(_ name: String) throws(WebError) -> APIToken? {
        try run { db in try APIToken.fetchOne(db, key: name) }
    }

    /// What reserving an idempotency key found.
    package enum Reservation: Sendable, Equatable {
        /// The key was new and is now recorded with this pack.
        case reserved
        /// The same key with the same request: the first answer (``IntakeKey/committed`` false
        /// when that request never finished).
        case replay(IntakeKey)
        /// The same key with a different request.
        case conflict
    }

    /// Records `entry` unless its client used its key already, in one transaction, so two
    /// requests racing with one key cannot both queue a pack.
    package func reserve(_ entry: IntakeKey) throws(WebError) -> Reservation {
        try run { db in
            if let earlier = try IntakeKey.fetchOne(db, key: ["client": entry.client, "key": entry.key]) {
                return constantTimeEqual(earlier.fingerprint, entry.fingerprint) ? .replay(earlier) : .conflict
            }
            try entry.insert(db)
            return .reserved
        }
    }

    /// Marks `entry`'s pack committed, naming the pack (a reservation taken over from a request
    /// that died names the new one).
    package func confirm(_ entry: IntakeKey) throws(WebError) {
        var marked = entry
        marked.committed = true
        let row = marked
        try run { db in try row.update(db) }
    }

    /// Forgets a reservation whose pack could not be committed.
    package func release(client: String, key: String) throws(WebError) {
        try run { db in _ = try IntakeKey.deleteOne(db, key: ["client": client, "key": key]) }
    }

    /// `client`'s pack named `pack`; nil for another client's pack or none.
    package func intakePack(client: String, pack: String) throws(WebError) -> IntakeKey? {
        try run { db in
            try IntakeKey.filter(Column("client") == client && Column("pack") == pack).fetchOne(db)
        }
    }
}
