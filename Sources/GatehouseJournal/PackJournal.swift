import Foundation
public import GatehouseFormat
import GRDB

/// What the journal holds about a pack, outgoing or incoming.
public struct JournalPack: Sendable, Equatable {
    /// Subject, workflow and NHS numbers.
    public var context: PackContext
    /// Outgoing: the pack folder's name in `outbox/<ODS>/`; nil for records dropped one by one,
    /// and for incoming bundles.
    public var pack: String?

    /// A pack as a journal stores it (NHS numbers space-separated); nil for a workflow Gatehouse
    /// never writes (the row was checked when it was written, so this is a damaged journal).
    public init?(subject: String, workflow: String, nhsNumbers: String, pack: String?) {
        guard let workflow = try? Workflow(workflow) else { return nil }
        let numbers = nhsNumbers.split(separator: " ").map(String.init)
        self.init(context: PackContext(subject: subject, workflow: workflow, nhsNumbers: numbers), pack: pack)
    }

    init(context: PackContext, pack: String?) {
        self.context = context
        self.pack = pack
    }
}

/// Which incoming bundles `inbox` lists.
public struct IncomingFilter: Sendable, Equatable {
    /// Only those processed at or after this time (ms since the epoch).
    public var since: Int64?
    /// Only packs of this workflow.
    public var workflow: Workflow?
    /// Only packs naming this NHS number.
    public var nhsNumber: String?
    /// Only those processed before this time (ms since the epoch).
    public var until: Int64?
    /// Only bundles from this sender.
    public var sender: ODSCode?
    /// Only packs whose subject contains this text (ASCII letters in any case).
    public var subjectText: String?
    /// At most this many, newest first.
    public var limit = 1000
    /// Skip this many of the newest (pages of results).
    public var offset = 0

    /// Everything (up to `limit`).
    public init() {}

    /// True when only published packs can match (a refused bundle has no verified context).
    var needsContext: Bool { workflow != nil || nhsNumber != nil || subjectText != nil }
}

/// The `pack` table: one row per bundle (and direction) that has a context.
struct PackRow: Codable, FetchableRecord, PersistableRecord {
    static var databaseTableName: String { "pack" }

    var bundleID: BundleID
    /// `out` or `in`.
    var direction: String
    var pack: String?
    var subject: String
    var workflow: String
    /// Space-separated, so that `' ' || nhsNumbers || ' ' LIKE '% N %'` finds one.
    var nhsNumbers: String

    static func createTable(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE pack (
                bundleID TEXT NOT NULL,
                direction TEXT NOT NULL,
                pack TEXT,
                subject TEXT NOT NULL,
                workflow TEXT NOT NULL,
                nhsNumbers TEXT NOT NULL,
                PRIMARY KEY (bundleID, direction)
            );
            CREATE INDEX pack_by_workflow ON pack(direction, workflow);
            """)
    }

    /// The row as the journal's public type; nil for a value Gatehouse never writes (the row
    /// was checked when it was written, so this is a damaged journal).
    var journalPack: JournalPack? {
        JournalPack(subject: subject, workflow: workflow, nhsNumbers: nhsNumbers, pack: pack)
    }
}

extension PackRow {
    init(bundleID: BundleID, direction: String, pack: String?, _ context: PackContext) {
        self.init(bundleID: bundleID, direction: direction, pack: pack, subject: context.subject,
                  workflow: context.workflow.value, nhsNumbers: context.nhsNumbers.joined(separator: " "))
    }

    /// Journals a pack's context with its NHS-number index entries (in the caller's transaction).
    static func insert(bundleID: BundleID, direction: String, pack: String?, _ context: PackContext,
                       _ db: Database) throws {
        try PackRow(bundleID: bundleID, direction: direction, pack: pack, context).insert(db)
        // From the context's list, not the joined text: a crafted "number" holding a space must
        // not become two numbers in the index.
        try NHSIndex.insert(bundleID: bundleID.hex, direction: direction, NHSIndex.entries(context.nhsNumbers), db)
    }
}

extension SQLiteJournal {
    /// The pack context journalled for `bundleID`, going `out` or coming `in`; nil when it has
    /// none (records dropped one by one, refused bundles, a journal older than packs).
    public func pack(of bundleID: BundleID, direction: String) throws -> JournalPack? {
        try queue.read { db in
            guard try db.tableExists(PackRow.databaseTableName) else { return nil }
            return try PackRow.fetchOne(db, key: ["bundleID": bundleID, "direction": direction])?.journalPack
        }
    }

    /// The outgoing bundle the gateway claimed from the pack folder `name` (`send-…`), once it has.
    public func outgoingBundle(forPack name: String) throws -> BundleID? {
        try queue.read { db in
            guard try db.tableExists(PackRow.databaseTableName) else { return nil }
            return try BundleID.fetchOne(db, sql: "SELECT bundleID FROM pack WHERE direction = 'out' AND pack = ? LIMIT 1",
                                       arguments: [name])
        }
    }

    /// Incoming bundles matching `filter`, newest first, each with its verified context when it
    /// has one, without their receipts (for listing; ``incoming(_:)`` reads one with its receipt).
    public func incoming(matching filter: IncomingFilter) throws -> [(record: IncomingRecord, pack: JournalPack?)] {
        try queue.read { db in
            // A journal not yet migrated by the daemon (readers never migrate) has no contexts.
            let packs = try db.tableExists(PackRow.databaseTableName)
            if !packs && filter.needsContext { return [] }
            var conditions: [String] = []
            var arguments: [any DatabaseValueConvertible] = []
            if let since = filter.since {
                conditions.append("i.receivedAt >= ?")
                arguments.append(since)
            }
            if let until = filter.until {
                conditions.append("i.receivedAt < ?")
                arguments.append(until)
            }
            if let sender = filter.sender {
                conditions.append("i.sender = ?")
                arguments.append(sender)
            }
            if let text = filter.subjectText {
                // The text is matched literally: % and _ typed by a person are not wildcards.
                conditions.append("p.subject LIKE ? ESCAPE '\\'")
                let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
                arguments.append("%\(escaped)%")
            }
            if let workflow = filter.workflow {
                conditions.append("p.workflow = ?")
                arguments.append(workflow.value)
            }
            var from = "incoming i"
            if let number = filter.nhsNumber {
                // Only valid numbers are ever indexed; anything else (a wildcard, a fragment) finds nothing.
                guard NHSNumber.isValid(number) else { return [] }
                if try db.tableExists("packNHS") {
                    // The index drives the query (CROSS JOIN keeps SQLite from walking every
                    // incoming bundle by time instead): a patient's few packs, then sorted.
                    from = "packNHS n CROSS JOIN incoming i ON i.bundleID = n.bundleID"
                    conditions.append("n.nhs = ? AND n.direction = 'in'")
                    arguments.append(number)
                } else {
                    // A journal the daemon has not migrated yet (readers never migrate).
                    conditions.append("(' ' || p.nhsNumbers || ' ') LIKE ?")
                    arguments.append("% \(number) %")
                }
            }
            let join = packs ? "LEFT JOIN pack p ON p.bundleID = i.bundleID AND p.direction = 'in'" : ""
            let columns = packs ? "p.subject, p.workflow, p.nhsNumbers"
                                : "NULL AS subject, NULL AS workflow, NULL AS nhsNumbers"
            // Without the receipts: decoding each stored receipt was half of an Inbox page's CPU.
            let rows = try Row.fetchAll(db, sql: """
                SELECT i.bundleID, i.sender, i.state, i.receivedAt, i.bundleSHA256, i.reason, i.publishedPath, i.files,
                       \(columns) FROM \(from) \(join)
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY i.receivedAt DESC LIMIT ? OFFSET ?
                """, arguments: StatementArguments(arguments + [filter.limit, filter.offset]))
            return try rows.map { row in
                let stateText: String = row["state"]
                guard let state = IncomingState(rawValue: stateText) else {
                    throw JournalValueError(column: "incoming.state", value: stateText)
                }
                let record = IncomingRecord(
                    bundleID: row["bundleID"], sender: row["sender"], state: state, receivedAt: row["receivedAt"],
                    bundleSHA256: row["bundleSHA256"], reason: row["reason"], publishedPath: row["publishedPath"],
                    files: row["files"], receipt: [])
                guard let workflow: String = row["workflow"] else { return (record, nil) }
                let stored = PackRow(bundleID: record.bundleID, direction: "in", pack: nil,
                                     subject: row["subject"] ?? "", workflow: workflow,
                                     nhsNumbers: row["nhsNumbers"] ?? "")
                return (record, stored.journalPack)
            }
        }
    }
}
