public import GatehouseJournal
public import GatehouseKit

/// Where a home's journal lives, and the one place that opens it: the daemon, the metrics and
/// every command that reads the journal come through here, so adding a kind of journal changes
/// this file and no caller.
public enum JournalOpener {
    /// Opens the journal for the daemon, creating and migrating it when needed.
    public static func open(home: GatehouseHome, config: GatehouseConfig) throws -> any Journal {
        try SQLiteJournal(path: SpoolLayout(home: home).journal)
    }

    /// Opens the journal for reading (`status`, `inbox`, `receipt`, `send --wait`); nil when no
    /// gateway has created it yet. Readers never create or migrate a journal, so they cannot
    /// race a starting daemon that does. Throws `permissionDenied` naming the folder that
    /// refuses when this user may not read it.
    public static func openForReading(home: GatehouseHome) throws -> (any Journal)? {
        let path = SpoolLayout(home: home).journal
        guard try HomeAccess.readable(path, in: home) else { return nil }
        return try SQLiteJournal.openForReading(path: path)
    }
}
