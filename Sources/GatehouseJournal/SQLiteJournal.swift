import Foundation
public import GatehouseFormat
import GRDB

/// The journal in SQLite: one file in the home's spool, for a single gateway (the default).
///
/// WAL mode, so `gatehouse status` can read while the daemon writes; `synchronous = FULL`, so a
/// committed transition survives a power cut. Each state change and its transition row are
/// written in one transaction.
public final class SQLiteJournal: Journal {
    let queue: DatabaseQueue

    /// Opens the journal at `path` read-only, for `status` and `inbox`; nil when the gateway
    /// has not created it yet. Readers never create or migrate the database, so they cannot
    /// race a starting daemon that does.
    public static func openForReading(path: String) throws -> SQLiteJournal? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        // A gateway starting this moment has created the file but maybe not its tables or WAL
        // mode yet; a connection opened before then would go on reading the empty file. Wait a
        // moment for it, then read through a connection opened afterwards.
        for _ in 0..<50 {
            let queue = try DatabaseQueue(path: path, configuration: config)
            let ready = try queue.read { db in
                try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal"
                    && db.tableExists("outgoing") && db.tableExists("outgoingFile") && db.tableExists("incoming")
            }
            if ready { return SQLiteJournal(queue: queue) }
            usleep(100_000)
        }
        return SQLiteJournal(queue: try DatabaseQueue(path: path, configuration: config))
    }

    private init(queue: DatabaseQueue) { self.queue = queue }

    /// Opens (creating if needed) the journal at `path`.
    public init(path: String) throws {
        var config = Configuration()
        config.prepareDatabase { db in
            // Durability first: a transition the daemon acted on must not vanish in a crash.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        config.busyMode = .timeout(10)
        queue = try DatabaseQueue(path: path, configuration: config)
        try queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        try Self.migrator.migrate(queue)
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE outgoing (
                    bundleID TEXT PRIMARY KEY NOT NULL,
                    partner TEXT NOT NULL,
                    state TEXT NOT NULL,
                    createdAt INTEGER NOT NULL,
                    updatedAt INTEGER NOT NULL,
                    expiresAt INTEGER NOT NULL,
                    attempts INTEGER NOT NULL,
                    nextAttemptAt INTEGER NOT NULL,
                    bundleSHA256 TEXT,
                    bundleSize INTEGER,
                    lastError TEXT,
                    receipt BLOB
                );
                CREATE INDEX outgoing_by_state ON outgoing(state, nextAttemptAt);
                CREATE TABLE outgoingFile (
                    bundleID TEXT NOT NULL REFERENCES outgoing(bundleID) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    sourcePath TEXT NOT NULL,
                    workPath TEXT NOT NULL,
                    PRIMARY KEY (bundleID, position)
                );
                CREATE TABLE incoming (
                    bundleID TEXT PRIMARY KEY NOT NULL,
                    sender TEXT NOT NULL,
                    state TEXT NOT NULL,
                    receivedAt INTEGER NOT NULL,
                    bundleSHA256 TEXT NOT NULL,
                    reason TEXT,
                    publishedPath TEXT,
                    files TEXT,
                    receipt BLOB NOT NULL
                );
                CREATE TABLE transition (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    bundleID TEXT NOT NULL,
                    direction TEXT NOT NULL,
                    state TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    detail TEXT
                );
                CREATE INDEX transition_by_bundle ON transition(bundleID);
                """)
        }
        // Large journals (a million bundles): status, startup and the delivery loop read only
        // what they need through indexes, and the counts by state are kept as rows change.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                CREATE INDEX outgoing_by_created ON outgoing(createdAt);
                CREATE INDEX outgoing_open_by_expiry ON outgoing(expiresAt) WHERE state IN ('queued', 'sealed', 'delivered');
                CREATE INDEX outgoingFile_by_source ON outgoingFile(sourcePath);
                CREATE INDEX incoming_by_received ON incoming(receivedAt);
                CREATE TABLE outgoingCount (state TEXT PRIMARY KEY NOT NULL, n INTEGER NOT NULL);
                INSERT INTO outgoingCount SELECT state, COUNT(*) FROM outgoing GROUP BY state;
                CREATE TRIGGER outgoing_count_insert AFTER INSERT ON outgoing BEGIN
                    INSERT INTO outgoingCount VALUES (NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;
                END;
                CREATE TRIGGER outgoing_count_update AFTER UPDATE OF state ON outgoing WHEN OLD.state <> NEW.state BEGIN
                    UPDATE outgoingCount SET n = n - 1 WHERE state = OLD.state;
                    INSERT INTO outgoingCount VALUES (NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;
                END;
                CREATE TRIGGER outgoing_count_delete AFTER DELETE ON outgoing BEGIN
                    UPDATE outgoingCount SET n = n - 1 WHERE state = OLD.state;
                END;
                """)
        }
        // Packs: what each bundle is about (subject, workflow, NHS numbers), both ways; see PackJournal.swift.
        migrator.registerMigration("v3-packs") { db in try PackRow.createTable(db) }
        // Held bundles: a sender's bundle held by its partner still expires; a receiver finds
        // the bundles it holds without reading every incoming row.
        migrator.registerMigration("v4-held") { db in
            try db.execute(sql: """
                DROP INDEX outgoing_open_by_expiry;
                CREATE INDEX outgoing_open_by_expiry ON outgoing(expiresAt)
                    WHERE state IN ('queued', 'sealed', 'delivered', 'held');
                CREATE INDEX incoming_held ON incoming(receivedAt) WHERE state = 'held';
                """)
        }
        // The inbox's search by NHS number through an index (see NHSIndex.swift), existing packs backfilled.
        migrator.registerMigration("v5-pack-nhs") { db in try NHSIndex.createTable(db) }
        return migrator
    }

    // MARK: Outgoing

    /// Records newly claimed bundles in one transaction (one disk sync for a whole batch).
    public func insert(_ bundles: [NewOutgoing]) throws {
        try queue.write { db in
            // One cached statement for the files (a backlog of 100,000 is claimed in seconds).
            let insertFile = try db.cachedStatement(sql: """
                INSERT INTO outgoingFile (bundleID, position, name, size, sourcePath, workPath) VALUES (?, ?, ?, ?, ?, ?)
                """)
            for bundle in bundles {
                try bundle.record.insert(db)
                for file in bundle.files {
                    try insertFile.execute(arguments: [file.bundleID, file.position, file.name, file.size, file.sourcePath, file.workPath])
                }
                try Transition(bundleID: bundle.record.bundleID, direction: "out", state: bundle.record.state.rawValue,
                               at: bundle.record.updatedAt, detail: bundle.detail).insert(db)
                if let context = bundle.context {
                    try PackRow.insert(bundleID: bundle.record.bundleID, direction: "out", pack: bundle.pack, context, db)
                }
            }
        }
    }

    /// Saves `record`; when its state changed, also records the transition.
    ///
    /// A record in a final state (acknowledged, failed, expired) never leaves it: saving another
    /// state over it changes nothing and returns false. Work that awaited something while a
    /// receipt was processed (a delivery, say) can therefore never move a bundle backwards.
    /// Likewise a `held` bundle (the partner's receipt said so) leaves `held` only for a final
    /// state: a delivery journalled after that receipt keeps it held.
    @discardableResult
    public func save(_ record: OutgoingRecord, detail: String?) throws -> Bool {
        try queue.write { db in try Self.save(record, detail: detail, in: db) }
    }

    /// One commit with `synchronous = NORMAL`: appended to the WAL (a killed process keeps it)
    /// without an fdatasync. The WAL is written in order, so the next commit with `FULL` (or a
    /// checkpoint) syncs this one with it: a transition journalled after this one can never be
    /// on disk while this one is not.
    @discardableResult
    public func saveRepeatable(_ record: OutgoingRecord, detail: String?) throws -> Bool {
        try queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            var saved = false
            do {
                try db.inTransaction {
                    saved = try Self.save(record, detail: detail, in: db)
                    return .commit
                }
            } catch {
                try db.execute(sql: "PRAGMA synchronous = FULL")
                throw error
            }
            // Every other commit stays durable.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            return saved
        }
    }

    private static func save(_ record: OutgoingRecord, detail: String?, in db: Database) throws -> Bool {
        let previous = try OutgoingRecord.fetchOne(db, key: record.bundleID)
        if let previous, previous.state.isFinal, previous.state != record.state { return false }
        if previous?.state == .held, !record.state.isFinal, record.state != .held { return false }
        try record.update(db)
        if previous?.state != record.state {
            try Transition(bundleID: record.bundleID, direction: "out", state: record.state.rawValue, at: record.updatedAt, detail: detail).insert(db)
        }
        return true
    }

    /// The outgoing bundle `bundleID`.
    public func outgoing(_ bundleID: BundleID) throws -> OutgoingRecord? {
        try queue.read { db in try OutgoingRecord.fetchOne(db, key: bundleID) }
    }

    /// The ids of outgoing bundles that start with `prefix` (lower-case hex digits), in order, at
    /// most `limit`: for ids abbreviated as git abbreviates commits. A range on the primary key,
    /// so only the matches are read.
    public func outgoingIDs(startingWith prefix: String, limit: Int) throws -> [BundleID] {
        try queue.read { db in
            // Every id is lower-case hex, so all that start with the prefix sort before prefix + "g".
            try BundleID.fetchAll(db, sql: """
                SELECT bundleID FROM outgoing WHERE bundleID >= ? AND bundleID < ? ORDER BY bundleID LIMIT ?
                """, arguments: [prefix, prefix + "g", limit])
        }
    }

    /// Outgoing bundles in any of `states`, oldest first.
    public func outgoing(in states: [OutgoingState]) throws -> [OutgoingRecord] {
        try queue.read { db in
            try OutgoingRecord.filter(states.map(\.rawValue).contains(Column("state"))).order(Column("createdAt")).fetchAll(db)
        }
    }

    /// Bundles waiting to be sealed or delivered whose next attempt is due at `now`, oldest
    /// first, at most `limit`.
    public func dueOutgoing(now: Int64, limit: Int) throws -> [OutgoingRecord] {
        try queue.read { db in
            try OutgoingRecord.fetchAll(db, sql: """
                SELECT * FROM outgoing WHERE state IN ('queued', 'sealed') AND nextAttemptAt <= ?
                ORDER BY createdAt LIMIT ?
                """, arguments: [now, limit])
        }
    }

    /// When the next attempt of a bundle waiting to be sealed or delivered is due, if any.
    public func nextAttemptAt() throws -> Int64? {
        try queue.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(nextAttemptAt) FROM outgoing WHERE state IN ('queued', 'sealed')")
        }
    }

    /// Bundles not yet in a final state whose expiry is at or before `now`.
    public func expiredOutgoing(now: Int64) throws -> [OutgoingRecord] {
        try queue.read { db in
            try OutgoingRecord.fetchAll(db, sql: """
                SELECT * FROM outgoing WHERE state IN ('queued', 'sealed', 'delivered', 'held') AND expiresAt <= ?
                ORDER BY expiresAt
                """, arguments: [now])
        }
    }

    /// How many outgoing bundles are in each state (states with none are left out).
    public func outgoingCounts() throws -> [OutgoingState: Int] {
        try queue.read { db in
            var counts: [OutgoingState: Int] = [:]
            // A journal not yet migrated by a newer daemon (read-only readers never migrate) is counted.
            let sql = try db.tableExists("outgoingCount") ? "SELECT state, n FROM outgoingCount WHERE n > 0"
                                                           : "SELECT state, COUNT(*) AS n FROM outgoing GROUP BY state"
            for row in try Row.fetchAll(db, sql: sql) {
                if let state = OutgoingState(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }

    /// The bundles still open (queued, sealed, delivered or held) for each partner and state, with the
    /// claim time of the oldest: the metrics' per-partner gauges. Reads only open bundles (through
    /// an index on the state), so a journal of a million acknowledged bundles costs no more.
    public func openOutgoingByPartner() throws -> [OpenOutgoingCount] {
        try queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT partner, state, COUNT(*) AS n, MIN(createdAt) AS oldest FROM outgoing
                WHERE state IN ('queued', 'sealed', 'delivered', 'held') GROUP BY partner, state
                """).compactMap { row in
                OutgoingState(rawValue: row["state"]).map { OpenOutgoingCount(partner: row["partner"], state: $0, count: row["n"], oldestCreatedAt: row["oldest"]) }
            }
        }
    }

    /// The newest outgoing bundles with their files, newest first, at most `limit`, for listing:
    /// one query, and without the stored receipts (decoding them was most of the cost of listing
    /// a thousand bundles); fetch one bundle with ``outgoing(_:)`` for its receipt. Never save a
    /// record read here.
    public func newestOutgoing(limit: Int) throws -> [(record: OutgoingRecord, files: [OutgoingFile])] {
        try queue.read { db in
            var listing: [(record: OutgoingRecord, files: [OutgoingFile])] = []
            let rows = try Row.fetchCursor(db, sql: """
                SELECT o.bundleID, o.partner, o.state, o.createdAt, o.updatedAt, o.expiresAt, o.attempts, o.nextAttemptAt,
                       o.bundleSHA256, o.bundleSize, o.lastError, NULL AS receipt,
                       f.position, f.name, f.size, f.sourcePath, f.workPath
                FROM (SELECT bundleID, partner, state, createdAt, updatedAt, expiresAt, attempts, nextAttemptAt,
                             bundleSHA256, bundleSize, lastError, rowid AS seq
                      FROM outgoing ORDER BY createdAt DESC, rowid DESC LIMIT ?) o
                LEFT JOIN outgoingFile f ON f.bundleID = o.bundleID
                ORDER BY o.createdAt DESC, o.seq DESC, f.position
                """, arguments: [limit])
            while let row = try rows.next() {
                let bundleID: BundleID = try row.decode(forColumn: "bundleID")
                if listing.last?.record.bundleID != bundleID { listing.append((try OutgoingRecord(row: row), [])) }
                if try row.decode(Int?.self, forColumn: "position") != nil { listing[listing.count - 1].files.append(try OutgoingFile(row: row)) }
            }
            return listing
        }
    }

    /// The files of an outgoing bundle, in order.
    public func files(of bundleID: BundleID) throws -> [OutgoingFile] {
        try queue.read { db in
            try OutgoingFile.filter(Column("bundleID") == bundleID).order(Column("position")).fetchAll(db)
        }
    }

    /// The file of a still-queued bundle claimed from `sourcePath`, if any: a claim journalled
    /// but not finished (its original was not moved yet).
    public func queuedClaim(sourcePath: String) throws -> OutgoingFile? {
        try queue.read { db in
            try OutgoingFile.fetchOne(db, sql: """
                SELECT f.* FROM outgoingFile f JOIN outgoing o ON o.bundleID = f.bundleID
                WHERE f.sourcePath = ? AND o.state = 'queued' ORDER BY o.createdAt DESC LIMIT 1
                """, arguments: [sourcePath])
        }
    }

    /// The newest claim of a file dropped at `sourcePath` whose bundle was created at or after
    /// `since` (ms since the epoch), if any: how `gatehouse send --wait` finds the bundle a file
    /// it put into the outbox travels in (records waiting together share one bundle).
    public func claim(sourcePath: String, since: Int64) throws -> OutgoingFile? {
        try queue.read { db in
            try OutgoingFile.fetchOne(db, sql: """
                SELECT f.* FROM outgoingFile f JOIN outgoing o ON o.bundleID = f.bundleID
                WHERE f.sourcePath = ? AND o.createdAt >= ? ORDER BY o.createdAt DESC LIMIT 1
                """, arguments: [sourcePath, since])
        }
    }

    /// True when a claimed original at `sourcePath` is already journalled (crash recovery).
    public func isClaimed(sourcePath: String) throws -> Bool {
        try queue.read { db in try OutgoingFile.filter(Column("sourcePath") == sourcePath).fetchCount(db) > 0 }
    }

    /// Records new sizes for files of a queued bundle whose originals changed after they were
    /// claimed (a writer had not finished), with a transition saying why; the bundle stays queued.
    public func resizeFiles(of bundleID: BundleID, sizes: [(position: Int, size: Int64)], at time: Int64,
                            detail: String) throws {
        try queue.write { db in
            for (position, size) in sizes {
                try db.execute(sql: "UPDATE outgoingFile SET size = ? WHERE bundleID = ? AND position = ?",
                               arguments: [size, bundleID, position])
            }
            try Transition(bundleID: bundleID, direction: "out", state: OutgoingState.queued.rawValue, at: time,
                           detail: detail).insert(db)
        }
    }

    /// Takes a file out of a queued bundle (its original was refused and moved to `failed/`),
    /// with a transition saying why; the bundle's other files stay.
    public func removeFile(of bundleID: BundleID, position: Int, at time: Int64, detail: String) throws {
        try queue.write { db in
            try db.execute(sql: "DELETE FROM outgoingFile WHERE bundleID = ? AND position = ?",
                           arguments: [bundleID, position])
            try Transition(bundleID: bundleID, direction: "out", state: OutgoingState.queued.rawValue, at: time,
                           detail: detail).insert(db)
        }
    }

    // MARK: Incoming

    /// The incoming bundle `bundleID`, if it was ever processed.
    public func incoming(_ bundleID: BundleID) throws -> IncomingRecord? {
        try queue.read { db in try IncomingRecord.fetchOne(db, key: bundleID) }
    }

    /// Records an incoming bundle's outcome with its transition, and the verified manifest's
    /// context when it was published. Fails if it is already recorded.
    public func insert(_ record: IncomingRecord, detail: String?, context: PackContext?) throws {
        try queue.write { db in
            try record.insert(db)
            if let context { try PackRow.insert(bundleID: record.bundleID, direction: "in", pack: nil, context, db) }
            try Transition(bundleID: record.bundleID, direction: "in", state: record.state.rawValue, at: record.receivedAt, detail: detail).insert(db)
        }
    }

    /// Ends a held incoming bundle's wait: saves `record` (published or rejected, with its
    /// final receipt) over the held one, with its transition and, when published, its verified
    /// context. Returns false, changing nothing, when the bundle is not held (any more): an
    /// outcome is never replaced.
    @discardableResult
    public func resolveHeld(_ record: IncomingRecord, detail: String?, context: PackContext?) throws -> Bool {
        try queue.write { db in
            guard try IncomingRecord.fetchOne(db, key: record.bundleID)?.state == .held, record.state != .held else {
                return false
            }
            try record.update(db)
            if let context { try PackRow.insert(bundleID: record.bundleID, direction: "in", pack: nil, context, db) }
            try Transition(bundleID: record.bundleID, direction: "in", state: record.state.rawValue,
                           at: record.receivedAt, detail: detail).insert(db)
            return true
        }
    }

    /// The incoming bundles held unopened, oldest first.
    public func heldIncoming() throws -> [IncomingRecord] {
        try queue.read { db in
            try IncomingRecord.fetchAll(db, sql: "SELECT * FROM incoming WHERE state = 'held' ORDER BY receivedAt")
        }
    }

    /// Every incoming bundle, newest first, at most `limit`.
    public func allIncoming(limit: Int) throws -> [IncomingRecord] {
        try queue.read { db in try IncomingRecord.order(Column("receivedAt").desc).limit(limit).fetchAll(db) }
    }

    // MARK: History

    /// Every transition of `bundleID`, in order.
    public func transitions(of bundleID: BundleID) throws -> [Transition] {
        try queue.read { db in try Transition.filter(Column("bundleID") == bundleID).order(Column("id")).fetchAll(db) }
    }
}

/// How many bundles for one partner are in one open state, and when the oldest was claimed.
public struct OpenOutgoingCount: Sendable, Equatable {
    /// The recipient organisation.
    public var partner: ODSCode
    /// queued, sealed, delivered or held.
    public var state: OutgoingState
    /// How many.
    public var count: Int
    /// The oldest one's claim time (ms since the epoch).
    public var oldestCreatedAt: Int64

    /// A count.
    public init(partner: ODSCode, state: OutgoingState, count: Int, oldestCreatedAt: Int64) {
        self.partner = partner
        self.state = state
        self.count = count
        self.oldestCreatedAt = oldestCreatedAt
    }
}

// Outgoing bundles and their files are read by column, not through Decodable: listing a thousand
// bundles (`status --json`) spent a third of its time in the generic row decoder. Rows are still
// written through Encodable, so a stored receipt is JSON text (GRDB's encoding of `[UInt8]`).
extension OutgoingRecord: FetchableRecord, PersistableRecord {
    public static var databaseTableName: String { "outgoing" }

    public init(row: Row) throws {
        let stateText = try row.decode(String.self, forColumn: "state")
        guard let state = OutgoingState(rawValue: stateText) else {
            throw JournalValueError(column: "outgoing.state", value: stateText)
        }
        self.init(bundleID: try JournalIdentifiers.bundleID(row.decode(forColumn: "bundleID"), column: "outgoing.bundleID"),
                  partner: try JournalIdentifiers.ods(row.decode(forColumn: "partner"), column: "outgoing.partner"),
                  createdAt: try row.decode(forColumn: "createdAt"), expiresAt: try row.decode(forColumn: "expiresAt"))
        self.state = state
        updatedAt = try row.decode(forColumn: "updatedAt")
        attempts = try row.decode(forColumn: "attempts")
        nextAttemptAt = try row.decode(forColumn: "nextAttemptAt")
        bundleSHA256 = try row.decode(forColumn: "bundleSHA256")
        bundleSize = try row.decode(forColumn: "bundleSize")
        lastError = try row.decode(forColumn: "lastError")
        receipt = try Self.receiptBytes(row["receipt"] as DatabaseValue)
    }

    /// GRDB's encoding of `[UInt8]` is JSON (an array of numbers), as text or as a blob.
    private static func receiptBytes(json: Data) throws -> [UInt8] {
        do { return try JSONDecoder().decode([UInt8].self, from: json) } catch {
            throw JournalValueError(column: "outgoing.receipt", value: String(decoding: json.prefix(40), as: UTF8.self))
        }
    }

    private static func receiptBytes(_ value: DatabaseValue) throws -> [UInt8]? {
        switch value.storage {
        case .null: return nil
        case .blob(let json): return try receiptBytes(json: json)
        case .string(let json): return try receiptBytes(json: Data(json.utf8))
        case .int64, .double:
            throw JournalValueError(column: "outgoing.receipt", value: value.description)
        }
    }
}

/// A journal column holding a value Gatehouse never writes there (a damaged or hand-edited journal).
public struct JournalValueError: Error, CustomStringConvertible {
    public let column: String, value: String

    /// `column` (as `table.column`) holds `value`.
    public init(column: String, value: String) {
        self.column = column
        self.value = value
    }

    public var description: String { "the journal's \(column) holds \"\(value)\", which Gatehouse never writes" }
}

extension OutgoingFile: FetchableRecord, PersistableRecord {
    public static var databaseTableName: String { "outgoingFile" }

    public init(row: Row) throws {
        self.init(bundleID: try row.decode(forColumn: "bundleID"), position: try row.decode(forColumn: "position"),
                  name: try row.decode(forColumn: "name"), size: try row.decode(forColumn: "size"),
                  sourcePath: try row.decode(forColumn: "sourcePath"), workPath: try row.decode(forColumn: "workPath"))
    }
}

extension IncomingRecord: FetchableRecord, PersistableRecord {
    public static var databaseTableName: String { "incoming" }

    public init(row: Row) throws {
        let stored = try IncomingRow(row: row)
        guard let state = IncomingState(rawValue: stored.state) else {
            throw JournalValueError(column: "incoming.state", value: stored.state)
        }
        self.init(bundleID: try JournalIdentifiers.bundleID(stored.bundleID, column: "incoming.bundleID"),
                  sender: try JournalIdentifiers.sender(stored.sender, column: "incoming.sender"), state: state, receivedAt: stored.receivedAt,
                  bundleSHA256: stored.bundleSHA256, reason: stored.reason, publishedPath: stored.publishedPath,
                  files: stored.files, receipt: stored.receipt)
    }

    public func encode(to container: inout PersistenceContainer) throws {
        try IncomingRow(self).encode(to: &container)
    }
}

/// An `incoming` row as stored: the sender column is NOT NULL, so a bundle whose header could
/// not be read is journalled as `unknown` (not an ODS code: too long to be confused with one),
/// and the receipt keeps GRDB's encoding of `[UInt8]` that journals already hold.
private struct IncomingRow: Codable, FetchableRecord, PersistableRecord {
    static var databaseTableName: String { "incoming" }

    var bundleID: String, sender: String, state: String, receivedAt: Int64, bundleSHA256: String
    var reason: String?, publishedPath: String?, files: String?, receipt: [UInt8]

    init(_ record: IncomingRecord) {
        bundleID = record.bundleID.hex
        sender = record.senderText
        state = record.state.rawValue
        receivedAt = record.receivedAt
        bundleSHA256 = record.bundleSHA256
        reason = record.reason
        publishedPath = record.publishedPath
        files = record.files
        receipt = record.receipt
    }
}

extension Transition: FetchableRecord, PersistableRecord {
    public static var databaseTableName: String { "transition" }
}
