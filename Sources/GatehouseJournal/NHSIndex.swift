import GatehouseFormat
import GRDB

/// The NHS-number index of packs: one row per NHS number a pack names (`packNHS` in SQLite,
/// `pack_nhs` in PostgreSQL), so the inbox finds a patient's packs through an index instead of
/// reading every pack's number list (46 ms on 100,000 packs before; see bench/RESULTS.md).
///
/// Both journals fill it from ``entries(_:)`` when a pack is journalled and backfill it from the
/// `pack` table when they migrate, so what is indexed never differs between them.
public enum NHSIndex {
    /// The numbers of a pack that are indexed: valid NHS numbers only (ten digits, modulus 11),
    /// each once, at most ``PackContext/maxNHSNumbers``, in the order given.
    ///
    /// A manifest is checked before its context reaches the journal, but the index does not rely
    /// on it: a crafted context naming thousands of numbers, or "numbers" with spaces, wildcards
    /// or SQL in them, adds at most 64 rows, none of which a search for a valid number can match.
    public static func entries(_ numbers: some Sequence<String>) -> [String] {
        var seen = Set<String>()
        var kept: [String] = []
        for number in numbers where kept.count < PackContext.maxNHSNumbers {
            if NHSNumber.isValid(number), seen.insert(number).inserted { kept.append(number) }
        }
        return kept
    }

    /// The numbers in a journal's space-separated `nhsNumbers` column (the backfill's source).
    public static func entries(stored: String) -> [String] {
        entries(stored.split(separator: " ").lazy.map(String.init))
    }

    /// Packs read per batch when a migration backfills the index: memory stays flat on a journal
    /// of millions.
    public static let backfillBatch = 10_000

    // MARK: SQLite

    static func createTable(_ db: Database) throws {
        // WITHOUT ROWID: the primary key is the whole row, so a search reads one b-tree.
        try db.execute(sql: """
            CREATE TABLE packNHS (
                nhs TEXT NOT NULL,
                direction TEXT NOT NULL,
                bundleID TEXT NOT NULL,
                PRIMARY KEY (nhs, direction, bundleID)
            ) WITHOUT ROWID
            """)
        // Existing packs, in batches by primary key.
        var after: (String, String)? = nil
        while true {
            let rows = try Row.fetchAll(db, sql: """
                SELECT bundleID, direction, nhsNumbers FROM pack
                \(after == nil ? "" : "WHERE (bundleID, direction) > (?, ?)")
                ORDER BY bundleID, direction LIMIT \(backfillBatch)
                """, arguments: after.map { [$0.0, $0.1] } ?? [])
            for row in rows {
                try insert(bundleID: row["bundleID"], direction: row["direction"],
                           entries(stored: row["nhsNumbers"]), db)
            }
            guard rows.count == backfillBatch, let last = rows.last else { return }
            after = (last["bundleID"], last["direction"])
        }
    }

    static func insert(bundleID: String, direction: String, _ numbers: [String], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT OR IGNORE INTO packNHS (nhs, direction, bundleID) VALUES (?, ?, ?)
            """)
        for number in numbers { try statement.execute(arguments: [number, direction, bundleID]) }
    }
}
