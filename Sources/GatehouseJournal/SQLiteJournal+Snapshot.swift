import GRDB
import GatehouseFormat

extension SQLiteJournal {
    /// Everything the journal holds, read in one transaction (a consistent copy).
    public func snapshot() throws -> JournalSnapshot {
        try queue.read { db in
            var snapshot = JournalSnapshot()
            let packs = try db.tableExists(PackRow.databaseTableName)
                ? try PackRow.fetchAll(db) : []
            var outPacks: [BundleID: JournalPack] = [:], inPacks: [BundleID: JournalPack] = [:]
            for row in packs {
                if row.direction == "out" {
                    outPacks[row.bundleID] = row.journalPack
                } else {
                    inPacks[row.bundleID] = row.journalPack
                }
            }
            var files: [BundleID: [OutgoingFile]] = [:]
            for file in try OutgoingFile.order(Column("bundleID"), Column("position")).fetchAll(db) {
                files[file.bundleID, default: []].append(file)
            }
            let records = try OutgoingRecord.fetchAll(db, sql: "SELECT * FROM outgoing ORDER BY createdAt, rowid")
            snapshot.outgoing = records.map { ($0, files[$0.bundleID] ?? [], outPacks[$0.bundleID]) }
            let incoming = try IncomingRecord.fetchAll(db, sql: "SELECT * FROM incoming ORDER BY receivedAt, rowid")
            snapshot.incoming = incoming.map { ($0, inPacks[$0.bundleID]) }
            snapshot.transitions = try Transition.fetchAll(db, sql: "SELECT * FROM transition ORDER BY id")
            return snapshot
        }
    }
}
