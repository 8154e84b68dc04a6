import GatehouseJournal
import PostgresNIO

extension PostgresJournal {
    /// Writes `snapshot` as this organisation's journal, in one transaction; refused when the
    /// database already holds rows of this organisation (a migration is done once, onto nothing).
    public func load(_ snapshot: JournalSnapshot) throws {
        try transaction("loading \(snapshot.summary) for \(org)") { c in
            let existing = try rows("""
                SELECT (SELECT COUNT(*) FROM outgoing WHERE org = \(org.value))
                     + (SELECT COUNT(*) FROM incoming WHERE org = \(org.value))
                """, on: c).first.map { try $0[0].decode(Int.self) } ?? 0
            guard existing == 0 else {
                throw JournalError.configuration(
                    "the PostgreSQL journal already holds \(existing) bundles of \(org): nothing was copied",
                    hint: "migrate into a database (or organisation) that holds none")
            }
            for (record, files, pack) in snapshot.outgoing {
                try insertOutgoing(record, files: files, on: c)
                if let pack { try insertPack(record.bundleID, direction: "out", pack: pack.pack, pack.context, on: c) }
            }
            for (record, pack) in snapshot.incoming {
                try insertIncoming(record, on: c)
                if let pack { try insertPack(record.bundleID, direction: "in", pack: nil, pack.context, on: c) }
            }
            for t in snapshot.transitions {
                try insertTransition(t.bundleID, direction: t.direction, state: t.state, at: t.at, detail: t.detail, on: c)
            }
        }
    }
}
