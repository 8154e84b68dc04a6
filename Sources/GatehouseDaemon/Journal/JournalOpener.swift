import Foundation
public import GatehouseJournal
import GatehouseJournalPostgres
public import GatehouseKit

/// Where a home's journal lives, and the one place that opens it: the daemon, the metrics and
/// every command that reads the journal come through here, so adding a kind of journal changes
/// this file and no caller. Without `[journal]` in gatehouse.toml it is the SQLite file
/// `spool/journal.sqlite`; with `url`, PostgreSQL.
public enum JournalOpener {
    /// Opens the journal for the daemon, creating and migrating it when needed. With PostgreSQL
    /// the daemon joins as `node` (else `[journal] node`, else the host name): refused while
    /// another live process holds that id.
    public static func open(home: GatehouseHome, config: GatehouseConfig, node: String? = nil) throws -> any Journal {
        guard let settings = config.journal else { return try SQLiteJournal(path: SpoolLayout(home: home).journal) }
        let org = try Gateway(home: home).keys.loadOwnCard().org
        return try PostgresJournal(settings: PostgresSettings(settings), org: org, migrate: true,
                                   node: node ?? settings.node ?? ProcessInfo.processInfo.hostName)
    }

    /// Opens the journal for reading (`status`, `inbox`, `receipt`, `send --wait`); nil when no
    /// gateway has created it yet. Readers never create or migrate a journal, so they cannot
    /// race a starting daemon that does. Throws `permissionDenied` naming the folder that
    /// refuses when this user may not read it.
    public static func openForReading(home: GatehouseHome) throws -> (any Journal)? {
        // Staff who may read the journal but not the settings read the SQLite file, as before.
        if FileManager.default.isReadableFile(atPath: home.configPath), let settings = try GatehouseConfig.load(home: home).journal {
            let org = try Gateway(home: home).keys.loadOwnCard().org
            return try PostgresJournal.openIfCreated(settings: PostgresSettings(settings), org: org)
        }
        let path = SpoolLayout(home: home).journal
        guard try HomeAccess.readable(path, in: home) else { return nil }
        return try SQLiteJournal.openForReading(path: path)
    }

    /// True when the home's journal is shared by several nodes (PostgreSQL): the home lock then
    /// gives way to node leases in the database.
    public static func isShared(_ config: GatehouseConfig) -> Bool { config.journal != nil }
}

extension JournalOpener {
    /// Copies the home's SQLite journal into the PostgreSQL database `settings` names, in one
    /// transaction; refused when that database already holds bundles of this organisation. The
    /// SQLite file is left as it was. Returns what was copied, in words. The caller holds the
    /// home lock (no daemon writes meanwhile).
    public static func migrate(home: GatehouseHome, to settings: JournalSettings) throws -> String {
        guard let source = try SQLiteJournal.openForReading(path: SpoolLayout(home: home).journal) else {
            throw KitError.invalidInput("\(home.path) has no journal to migrate (no gateway has run there)")
        }
        let org = try Gateway(home: home).keys.loadOwnCard().org
        let postgres = try PostgresSettings(settings)
        let target = try PostgresJournal(settings: postgres, org: org, migrate: true)
        let snapshot = try source.snapshot()
        try target.load(snapshot)
        return "\(snapshot.summary) of \(org) into \(postgres.describe)"
    }
}
