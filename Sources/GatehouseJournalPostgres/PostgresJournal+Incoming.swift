import Foundation
import GatehouseFormat
import GatehouseJournal
import PostgresNIO

extension PostgresJournal {
    static let incomingColumns = """
        i.bundle_id, i.sender, i.state, i.received_at, i.bundle_sha256, i.reason, i.published_path, i.files, i.receipt
        """

    /// ``incomingColumns`` without the receipt (listings: the Inbox shows none).
    static let listedColumns = """
        i.bundle_id, i.sender, i.state, i.received_at, i.bundle_sha256, i.reason, i.published_path, i.files, NULL::bytea
        """

    static func incomingRecord(_ row: PostgresRandomAccessRow) throws -> IncomingRecord {
        var c = ColumnReader(row)
        let bundleID = try JournalIdentifiers.bundleID(c.next(), column: "incoming.bundle_id")
        let sender = try JournalIdentifiers.sender(c.next(), column: "incoming.sender")
        let stateText: String = try c.next()
        guard let state = IncomingState(rawValue: stateText) else {
            throw JournalValueError(column: "incoming.state", value: stateText)
        }
        return IncomingRecord(bundleID: bundleID, sender: sender, state: state, receivedAt: try c.next(),
                              bundleSHA256: try c.next(), reason: try c.next(), publishedPath: try c.next(),
                              files: try c.next(), receipt: try c.bytes() ?? [])
    }

    public func incoming(_ bundleID: BundleID) throws -> IncomingRecord? {
        try rows("reading incoming bundle \(bundleID)", """
            SELECT \(unescaped: Self.incomingColumns) FROM incoming i WHERE i.org = \(org.value) AND i.bundle_id = \(bundleID)
            """).first.map(Self.incomingRecord)
    }

    public func insert(_ record: IncomingRecord, detail: String?, context: PackContext?) throws {
        try transaction("journalling incoming bundle \(record.bundleID)") { c in
            // The primary key refuses a second insert of the same bundle, whichever node tries.
            try insertIncoming(record, on: c)
            if let context { try insertPack(record.bundleID, direction: "in", pack: nil, context, on: c) }
            try insertTransition(record.bundleID, direction: "in", state: record.state.rawValue, at: record.receivedAt,
                                 detail: detail, on: c)
        }
    }

    @discardableResult
    public func resolveHeld(_ record: IncomingRecord, detail: String?, context: PackContext?) throws -> Bool {
        try transaction("resolving held bundle \(record.bundleID)") { c in
            // The row is locked until the commit: two nodes resolving the same held bundle (a card
            // added, its expiry) take turns, and the second finds it no longer held.
            let previous = try rows("""
                SELECT state FROM incoming WHERE org = \(org.value) AND bundle_id = \(record.bundleID) FOR UPDATE
                """, on: c).first.map { try $0[0].decode(String.self) }
            guard previous == IncomingState.held.rawValue, record.state != .held else { return false }
            _ = try rows("""
                UPDATE incoming SET sender = \(record.senderText), state = \(record.state.rawValue),
                    received_at = \(record.receivedAt), bundle_sha256 = \(record.bundleSHA256), reason = \(record.reason),
                    published_path = \(record.publishedPath), files = \(record.files),
                    receipt = \(ByteBuffer(bytes: record.receipt))
                WHERE org = \(org.value) AND bundle_id = \(record.bundleID)
                """, on: c)
            if let context { try insertPack(record.bundleID, direction: "in", pack: nil, context, on: c) }
            try insertTransition(record.bundleID, direction: "in", state: record.state.rawValue, at: record.receivedAt,
                                 detail: detail, on: c)
            return true
        }
    }

    public func heldIncoming() throws -> [IncomingRecord] {
        try rows("listing held bundles", """
            SELECT \(unescaped: Self.incomingColumns) FROM incoming i WHERE i.org = \(org.value) AND i.state = 'held'
            ORDER BY i.received_at
            """).map(Self.incomingRecord)
    }

    public func allIncoming(limit: Int) throws -> [IncomingRecord] {
        try rows("listing incoming bundles", """
            SELECT \(unescaped: Self.incomingColumns) FROM incoming i WHERE i.org = \(org.value)
            ORDER BY i.received_at DESC LIMIT \(limit)
            """).map(Self.incomingRecord)
    }

    public func incoming(matching filter: IncomingFilter) throws -> [(record: IncomingRecord, pack: JournalPack?)] {
        var bindings = PostgresBindings()
        bindings.append(org.value)
        var conditions = ["i.org = $1"]
        if let since = filter.since {
            bindings.append(since)
            conditions.append("i.received_at >= $\(bindings.count)")
        }
        if let until = filter.until {
            bindings.append(until)
            conditions.append("i.received_at < $\(bindings.count)")
        }
        if let sender = filter.sender {
            bindings.append(sender)
            conditions.append("i.sender = $\(bindings.count)")
        }
        if let text = filter.subjectText {
            // The text is matched literally (% and _ typed by a person are not wildcards), ASCII
            // letters in any case, as SQLite's LIKE does.
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            bindings.append("%\(escaped)%")
            conditions.append("p.subject ILIKE $\(bindings.count) ESCAPE '\\'")
        }
        if let workflow = filter.workflow {
            bindings.append(workflow.value)
            conditions.append("p.workflow = $\(bindings.count)")
        }
        var from = "incoming i"
        if let number = filter.nhsNumber {
            // Only valid numbers are ever indexed; anything else (a wildcard, a fragment) finds nothing.
            guard NHSNumber.isValid(number) else { return [] }
            bindings.append(number)
            if try hasNHSIndex() {
                // The index drives the query: this organisation's packs naming the number, then sorted.
                from = "pack_nhs n JOIN incoming i ON i.org = n.org AND i.bundle_id = n.bundle_id"
                conditions.append("n.org = $1 AND n.nhs = $\(bindings.count) AND n.direction = 'in'")
            } else {
                // A database no daemon has migrated yet (readers never migrate): whole numbers,
                // matched in the space-separated list.
                conditions.append("(' ' || p.nhs_numbers || ' ') LIKE '% ' || $\(bindings.count) || ' %'")
            }
        }
        bindings.append(filter.limit)
        bindings.append(filter.offset)
        let query = PostgresQuery(unsafeSQL: """
            SELECT \(Self.listedColumns), p.subject, p.workflow, p.nhs_numbers FROM \(from)
            LEFT JOIN pack p ON p.org = i.org AND p.bundle_id = i.bundle_id AND p.direction = 'in'
            WHERE \(conditions.joined(separator: " AND "))
            ORDER BY i.received_at DESC LIMIT $\(bindings.count - 1) OFFSET $\(bindings.count)
            """, binds: bindings)
        return try rows("listing incoming bundles", query).map { row in
            let record = try Self.incomingRecord(row)
            guard let workflow = try row[10].decode(String?.self) else { return (record, nil) }
            return (record, JournalPack(subject: try row[9].decode(String.self), workflow: workflow,
                                             nhsNumbers: try row[11].decode(String.self), pack: nil))
        }
    }

    public func transitions(of bundleID: BundleID) throws -> [Transition] {
        try rows("reading the history of \(bundleID)", """
            SELECT bundle_id, direction, state, at, detail FROM transition
            WHERE org = \(org.value) AND bundle_id = \(bundleID) ORDER BY id
            """).map { row in
            var c = ColumnReader(row)
            return Transition(bundleID: try c.next(), direction: try c.next(), state: try c.next(), at: try c.next(),
                              detail: try c.next())
        }
    }

    public func pack(of bundleID: BundleID, direction: String) throws -> JournalPack? {
        try rows("reading the pack of \(bundleID)", """
            SELECT subject, workflow, nhs_numbers, pack FROM pack
            WHERE org = \(org.value) AND bundle_id = \(bundleID) AND direction = \(direction)
            """).first.flatMap { row in
            JournalPack(subject: try row[0].decode(String.self), workflow: try row[1].decode(String.self),
                             nhsNumbers: try row[2].decode(String.self), pack: try row[3].decode(String?.self))
        }
    }

    public func outgoingBundle(forPack name: String) throws -> BundleID? {
        try rows("finding the bundle of pack \(name)", """
            SELECT bundle_id FROM pack WHERE org = \(org.value) AND direction = 'out' AND pack = \(name) LIMIT 1
            """).first.map { try $0[0].decode(BundleID.self) }
    }

    func insertIncoming(_ record: IncomingRecord, on c: PostgresConnection) throws {
        _ = try rows("""
            INSERT INTO incoming (org, bundle_id, sender, state, received_at, bundle_sha256, reason, published_path,
                                  files, receipt)
            VALUES (\(org.value), \(record.bundleID), \(record.senderText), \(record.state.rawValue), \(record.receivedAt),
                    \(record.bundleSHA256), \(record.reason), \(record.publishedPath), \(record.files),
                    \(ByteBuffer(bytes: record.receipt)))
            """, on: c)
    }

    func insertPack(_ bundleID: BundleID, direction: String, pack: String?, _ context: PackContext,
                    on connection: PostgresConnection) throws {
        _ = try rows("""
            INSERT INTO pack (org, bundle_id, direction, pack, subject, workflow, nhs_numbers)
            VALUES (\(org.value), \(bundleID), \(direction), \(pack), \(context.subject), \(context.workflow.value),
                    \(context.nhsNumbers.joined(separator: " ")))
            """, on: connection)
        // From the context's list, not the joined text: a crafted "number" holding a space must
        // not become two numbers in the index.
        try insertNHSIndex(org: org.value, bundleID.hex, direction: direction, NHSIndex.entries(context.nhsNumbers),
                           on: connection)
    }

    /// True when the database has the NHS-number index (schema 4); a reader's database may be
    /// older until a daemon migrates it, so false is asked again next time.
    func hasNHSIndex() throws -> Bool {
        if nhsIndexSeen.withLock({ $0 }) { return true }
        let found = try rows("looking for the NHS-number index", "SELECT to_regclass('pack_nhs') IS NOT NULL")
            .first?[0].decode(Bool.self) ?? false
        if found { nhsIndexSeen.withLock { $0 = true } }
        return found
    }

    /// Adds a pack's NHS-number index rows (see ``NHSIndex``).
    func insertNHSIndex(org: String, _ bundleID: String, direction: String, _ numbers: [String],
                        on connection: PostgresConnection) throws {
        guard !numbers.isEmpty else { return }
        _ = try rows("""
            INSERT INTO pack_nhs (org, nhs, direction, bundle_id)
            SELECT \(org), nhs, \(direction), \(bundleID) FROM unnest(\(numbers)::text[]) AS nhs
            ON CONFLICT DO NOTHING
            """, on: connection)
    }

}
