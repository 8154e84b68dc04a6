import GatehouseJournal
import PostgresNIO

/// The journal's tables in PostgreSQL, created and migrated by the first node to start.
///
/// Every table is keyed by organisation first, so one database holds many tenants and every
/// query of one tenant reads only its rows through an index. Ids compare byte by byte
/// (`COLLATE "C"`), as abbreviated-id lookups need.
enum PostgresSchema {
    /// Each migration: a version and its statements (one statement each, as the extended
    /// protocol requires).
    static let migrations: [(version: Int, statements: [String])] = [
        (1, [
            """
            CREATE TABLE outgoing (
                org TEXT NOT NULL, bundle_id TEXT COLLATE "C" NOT NULL, partner TEXT NOT NULL, state TEXT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,
                attempts INTEGER NOT NULL, next_attempt_at BIGINT NOT NULL, bundle_sha256 TEXT, bundle_size BIGINT,
                last_error TEXT, receipt BYTEA, seq BIGSERIAL NOT NULL, owner TEXT,
                PRIMARY KEY (org, bundle_id))
            """,
            "CREATE INDEX outgoing_due ON outgoing (org, next_attempt_at) WHERE state IN ('queued', 'sealed')",
            "CREATE INDEX outgoing_open ON outgoing (org, expires_at) WHERE state IN ('queued', 'sealed', 'delivered')",
            "CREATE INDEX outgoing_created ON outgoing (org, created_at, seq)",
            "CREATE INDEX outgoing_state ON outgoing (org, state)",
            """
            CREATE TABLE outgoing_file (
                org TEXT NOT NULL, bundle_id TEXT COLLATE "C" NOT NULL, position INTEGER NOT NULL, name TEXT NOT NULL,
                size BIGINT NOT NULL, source_path TEXT NOT NULL, work_path TEXT NOT NULL,
                PRIMARY KEY (org, bundle_id, position),
                FOREIGN KEY (org, bundle_id) REFERENCES outgoing (org, bundle_id) ON DELETE CASCADE)
            """,
            "CREATE INDEX outgoing_file_source ON outgoing_file (org, source_path)",
            """
            CREATE TABLE incoming (
                org TEXT NOT NULL, bundle_id TEXT COLLATE "C" NOT NULL, sender TEXT NOT NULL, state TEXT NOT NULL,
                received_at BIGINT NOT NULL, bundle_sha256 TEXT NOT NULL, reason TEXT, published_path TEXT, files TEXT,
                receipt BYTEA NOT NULL, PRIMARY KEY (org, bundle_id))
            """,
            "CREATE INDEX incoming_received ON incoming (org, received_at)",
            """
            CREATE TABLE transition (
                id BIGSERIAL PRIMARY KEY, org TEXT NOT NULL, bundle_id TEXT COLLATE "C" NOT NULL,
                direction TEXT NOT NULL, state TEXT NOT NULL, at BIGINT NOT NULL, detail TEXT)
            """,
            "CREATE INDEX transition_bundle ON transition (org, bundle_id)",
            """
            CREATE TABLE pack (
                org TEXT NOT NULL, bundle_id TEXT COLLATE "C" NOT NULL, direction TEXT NOT NULL, pack TEXT,
                subject TEXT NOT NULL, workflow TEXT NOT NULL, nhs_numbers TEXT NOT NULL,
                PRIMARY KEY (org, bundle_id, direction))
            """,
            "CREATE INDEX pack_by_workflow ON pack (org, direction, workflow)",
            // Nodes and their leases (see NodeMembership).
            """
            CREATE TABLE node (
                id TEXT PRIMARY KEY, token TEXT NOT NULL, lease_until BIGINT NOT NULL, joined_at BIGINT NOT NULL,
                host TEXT NOT NULL)
            """,
            "CREATE TABLE spool_lease (org TEXT PRIMARY KEY, node TEXT NOT NULL)",
        ]),
        // Counts by state kept as rows change, as the SQLite journal does: `status`, every metrics
        // scrape and /healthz read a few rows instead of counting millions. States only move
        // forward (queued, sealed, delivered, held, then a final one; a held bundle leaves held
        // only for a final state), so two transactions lock the count rows of one organisation
        // in the same order and never deadlock.
        (2, [
            """
            CREATE TABLE outgoing_count (
                org TEXT NOT NULL, state TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (org, state))
            """,
            "INSERT INTO outgoing_count SELECT org, state, COUNT(*) FROM outgoing GROUP BY org, state",
            """
            CREATE FUNCTION outgoing_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    UPDATE outgoing_count SET n = n - 1 WHERE org = OLD.org AND state = OLD.state;
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    INSERT INTO outgoing_count VALUES (NEW.org, NEW.state, 1)
                    ON CONFLICT (org, state) DO UPDATE SET n = outgoing_count.n + 1;
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER outgoing_count_insert_delete AFTER INSERT OR DELETE ON outgoing
            FOR EACH ROW EXECUTE FUNCTION outgoing_count_change()
            """,
            """
            CREATE TRIGGER outgoing_count_update AFTER UPDATE OF state ON outgoing
            FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION outgoing_count_change()
            """,
        ]),
        // Held bundles (as the SQLite journal's v4-held): a sender's bundle held by its partner is
        // still open and still expires; a receiver finds the bundles it holds without reading
        // every incoming row; the web pages find a bundle by the pack folder it was claimed from.
        (3, [
            "DROP INDEX outgoing_open",
            """
            CREATE INDEX outgoing_open ON outgoing (org, expires_at)
            WHERE state IN ('queued', 'sealed', 'delivered', 'held')
            """,
            "CREATE INDEX incoming_held ON incoming (org, received_at) WHERE state = 'held'",
            "CREATE INDEX pack_by_name ON pack (org, direction, pack) WHERE pack IS NOT NULL",
        ]),
        // The inbox's search by NHS number through an index (as the SQLite journal's v5-pack-nhs;
        // see NHSIndex), keyed by organisation first like every table; existing packs are
        // backfilled by ``backfillNHSIndex(_:on:)`` in the same transaction.
        (4, [
            """
            CREATE TABLE pack_nhs (
                org TEXT NOT NULL, nhs TEXT COLLATE "C" NOT NULL, direction TEXT NOT NULL,
                bundle_id TEXT COLLATE "C" NOT NULL, PRIMARY KEY (org, nhs, direction, bundle_id))
            """,
        ]),
    ]

    /// Work a migration does in Swift after its statements, by version.
    static let backfills: [Int: @Sendable (PostgresJournal, PostgresConnection) throws -> Void] = [
        4: { try backfillNHSIndex($0, on: $1) },
    ]

    /// Fills `pack_nhs` from every organisation's packs, a batch at a time, through the same rule
    /// as new packs (``NHSIndex/entries(stored:)``).
    static func backfillNHSIndex(_ journal: PostgresJournal, on c: PostgresConnection) throws {
        var after: (org: String, bundle: String, direction: String)?
        while true {
            let query: PostgresQuery = if let after {
                """
                SELECT org, bundle_id, direction, nhs_numbers FROM pack
                WHERE (org, bundle_id, direction) > (\(after.org), \(after.bundle), \(after.direction))
                ORDER BY org, bundle_id, direction LIMIT \(NHSIndex.backfillBatch)
                """
            } else {
                """
                SELECT org, bundle_id, direction, nhs_numbers FROM pack
                ORDER BY org, bundle_id, direction LIMIT \(NHSIndex.backfillBatch)
                """
            }
            let rows = try journal.rows(query, on: c)
            for row in rows {
                var r = ColumnReader(row)
                let org: String = try r.next(), bundle: String = try r.next(), direction: String = try r.next()
                let numbers = NHSIndex.entries(stored: try r.next(String.self))
                try journal.insertNHSIndex(org: org, bundle, direction: direction, numbers, on: c)
                after = (org, bundle, direction)
            }
            guard rows.count == NHSIndex.backfillBatch else { return }
        }
    }

    /// A lock number of our own for migrations (any 64-bit value no other application uses).
    static let migrationLock: Int64 = 0x6761_7465_686f_7573  // "gatehous"

    static func migrate(_ journal: PostgresJournal) throws(JournalError) {
        try journal.transaction("migrating the journal") { c in
            // Several nodes may start at once: one migrates, the others wait for its commit.
            _ = try journal.rows("SELECT pg_advisory_xact_lock(\(migrationLock))", on: c)
            _ = try journal.rows("CREATE TABLE IF NOT EXISTS gatehouse_schema (version INTEGER PRIMARY KEY)", on: c)
            let current = try journal.rows("SELECT COALESCE(MAX(version), 0) FROM gatehouse_schema", on: c)
                .first.map { try $0[0].decode(Int.self) } ?? 0
            for migration in migrations where migration.version > current {
                for statement in migration.statements { _ = try journal.rows(PostgresQuery(unsafeSQL: statement), on: c) }
                try backfills[migration.version]?(journal, c)
                _ = try journal.rows("INSERT INTO gatehouse_schema (version) VALUES (\(migration.version))", on: c)
            }
        }
    }
}
