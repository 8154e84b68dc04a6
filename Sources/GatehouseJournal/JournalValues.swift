public import GatehouseFormat
public import GRDB

// The journal stores the format's identifiers as their text forms (a bundle id as 32 hex
// digits, an ODS code as itself), so a journal written before these types stays readable and a
// value Gatehouse never writes is refused when read, not passed on.

extension BundleID: SQLExpressible, StatementBinding, DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { hex.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> BundleID? {
        String.fromDatabaseValue(dbValue).flatMap { try? BundleID(hex: $0) }
    }
}

extension ODSCode: SQLExpressible, StatementBinding, DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { value.databaseValue }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> ODSCode? {
        String.fromDatabaseValue(dbValue).flatMap { try? ODSCode($0) }
    }
}

/// Reading identifiers back from a journal's text columns: a value Gatehouse never writes there
/// (a damaged or hand-edited journal) is a ``JournalValueError`` naming the column.
public enum JournalIdentifiers {
    /// `text` (from `column`, as `table.column`) as a bundle id.
    public static func bundleID(_ text: String, column: String) throws -> BundleID {
        guard let id = try? BundleID(hex: text) else { throw JournalValueError(column: column, value: text) }
        return id
    }

    /// `text` (from `column`) as an ODS code.
    public static func ods(_ text: String, column: String) throws -> ODSCode {
        guard let code = try? ODSCode(text) else { throw JournalValueError(column: column, value: text) }
        return code
    }

    /// `text` (from an incoming bundle's sender column) as its sender: nil for
    /// ``IncomingRecord/unknownSender``, a bundle whose header could not be read.
    public static func sender(_ text: String, column: String) throws -> ODSCode? {
        text == IncomingRecord.unknownSender ? nil : try ods(text, column: column)
    }
}
