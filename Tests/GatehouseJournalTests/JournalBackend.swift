import Foundation
import GatehouseFormat
import GatehouseJournal
import GatehouseJournalPostgres
import GatehouseTesting
import GRDB

/// The journals every journal test runs against.
enum JournalBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgresql

    var description: String { rawValue }

    /// A fresh, empty journal of this kind, how to open it again, and how to change its rows
    /// behind its back (a damaged or hand-edited journal).
    func open(in folder: TemporaryDirectory) throws -> OpenedJournal {
        switch self {
        case .sqlite:
            let path = folder.appending("journal.sqlite")
            return OpenedJournal(journal: try SQLiteJournal(path: path), reopen: { try SQLiteJournal(path: path) },
                                 execute: { sql in try DatabaseQueue(path: path).write { try $0.execute(sql: sql) } },
                                 indexRows: {
                                     try DatabaseQueue(path: path).read {
                                         try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM packNHS") ?? -1
                                     }
                                 })
        case .postgresql:
            let server = try PostgresServer.shared.get()
            let database = try server.createDatabase()
            let settings = try PostgresSettings(server.journalSettings(database: database))
            let org = try ODSCode("A81001")
            return OpenedJournal(
                journal: try PostgresJournal(settings: settings, org: org, migrate: true),
                reopen: { try PostgresJournal(settings: settings, org: org, migrate: true) },
                execute: { sql in try server.execute(sql, database: database) },
                indexRows: {
                    let text = try server.execute("SELECT COUNT(*) FROM pack_nhs", database: database)
                    return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
                })
        }
    }
}

struct OpenedJournal {
    let journal: any Journal
    let reopen: () throws -> any Journal
    let execute: (String) throws -> Void
    /// How many rows the NHS-number index holds (every organisation's).
    let indexRows: () throws -> Int
}
