import GatehouseFormat
import GatehouseJournal
import PostgresNIO

extension PostgresJournal {
    /// The columns of an outgoing record, in ``outgoingRecord(_:)``'s order.
    static let outgoingColumns = """
        bundle_id, partner, state, created_at, updated_at, expires_at, attempts, next_attempt_at,
        bundle_sha256, bundle_size, last_error, receipt
        """

    static func outgoingRecord(_ row: PostgresRandomAccessRow) throws -> OutgoingRecord {
        var c = ColumnReader(row)
        var record = OutgoingRecord(bundleID: try JournalIdentifiers.bundleID(c.next(), column: "outgoing.bundle_id"),
                                    partner: try JournalIdentifiers.ods(c.next(), column: "outgoing.partner"),
                                    createdAt: 0, expiresAt: 0)
        let state: String = try c.next()
        guard let known = OutgoingState(rawValue: state) else {
            throw JournalValueError(column: "outgoing.state", value: state)
        }
        record.state = known
        record.createdAt = try c.next()
        record.updatedAt = try c.next()
        record.expiresAt = try c.next()
        record.attempts = try c.next()
        record.nextAttemptAt = try c.next()
        record.bundleSHA256 = try c.next()
        record.bundleSize = try c.next()
        record.lastError = try c.next()
        record.receipt = try c.bytes()
        return record
    }

    static func outgoingFile(_ row: PostgresRandomAccessRow) throws -> OutgoingFile {
        var c = ColumnReader(row)
        return OutgoingFile(bundleID: try c.next(), position: try c.next(), name: try c.next(), size: try c.next(),
                            sourcePath: try c.next(), workPath: try c.next())
    }

    static let fileColumns = "bundle_id, position, name, size, source_path, work_path"

    func insertTransition(_ bundleID: BundleID, direction: String, state: String, at: Int64, detail: String?,
                          on connection: PostgresConnection) throws {
        _ = try rows("""
            INSERT INTO transition (org, bundle_id, direction, state, at, detail)
            VALUES (\(org.value), \(bundleID), \(direction), \(state), \(at), \(detail))
            """, on: connection)
    }

    /// Inserts an outgoing record and its files (no transition), owned by this node when it is one.
    func insertOutgoing(_ r: OutgoingRecord, files: [OutgoingFile], on c: PostgresConnection) throws {
        // Owned from the start: between this commit and the claiming node's move of the files
        // into the work folder, another node must not seal the bundle (it would find no files
        // and fail it: seen in the partition test).
        _ = try rows("""
            INSERT INTO outgoing (org, bundle_id, partner, state, created_at, updated_at, expires_at, attempts,
                                  next_attempt_at, bundle_sha256, bundle_size, last_error, receipt, owner)
            VALUES (\(org.value), \(r.bundleID), \(r.partner), \(r.state.rawValue), \(r.createdAt), \(r.updatedAt),
                    \(r.expiresAt), \(r.attempts), \(r.nextAttemptAt), \(r.bundleSHA256), \(r.bundleSize),
                    \(r.lastError), \(r.receipt.map { ByteBuffer(bytes: $0) }), \(membership?.node))
            """, on: c)
        for f in files {
            _ = try rows("""
                INSERT INTO outgoing_file (org, bundle_id, position, name, size, source_path, work_path)
                VALUES (\(org.value), \(f.bundleID), \(f.position), \(f.name), \(f.size), \(f.sourcePath), \(f.workPath))
                """, on: c)
        }
    }

    public func insert(_ bundles: [NewOutgoing]) throws {
        try transaction("journalling \(bundles.count) claimed bundles") { c in
            for bundle in bundles {
                let r = bundle.record
                try insertOutgoing(r, files: bundle.files, on: c)
                try insertTransition(r.bundleID, direction: "out", state: r.state.rawValue, at: r.updatedAt,
                                     detail: bundle.detail, on: c)
                if let context = bundle.context {
                    try insertPack(r.bundleID, direction: "out", pack: bundle.pack, context, on: c)
                }
            }
        }
    }

    @discardableResult
    public func save(_ record: OutgoingRecord, detail: String?) throws -> Bool {
        try transaction("saving bundle \(record.bundleID)") { c in
            // The row is locked until the commit: a receipt saved by another node waits here, so
            // the final-state rule below sees the newest state.
            let previous = try rows("""
                SELECT state FROM outgoing WHERE org = \(org.value) AND bundle_id = \(record.bundleID) FOR UPDATE
                """, on: c).first.map { try $0[0].decode(String.self) }.flatMap(OutgoingState.init(rawValue:))
            if let previous, previous.isFinal, previous != record.state { return false }
            // A held bundle (its partner's receipt said so) leaves held only for a final state:
            // a delivery journalled by any node after that receipt keeps it held.
            if previous == .held, !record.state.isFinal, record.state != .held { return false }
            _ = try rows("""
                UPDATE outgoing SET partner = \(record.partner), state = \(record.state.rawValue),
                    created_at = \(record.createdAt), updated_at = \(record.updatedAt), expires_at = \(record.expiresAt),
                    attempts = \(record.attempts), next_attempt_at = \(record.nextAttemptAt),
                    bundle_sha256 = \(record.bundleSHA256), bundle_size = \(record.bundleSize),
                    last_error = \(record.lastError), receipt = \(record.receipt.map { ByteBuffer(bytes: $0) })
                WHERE org = \(org.value) AND bundle_id = \(record.bundleID)
                """, on: c)
            if previous != record.state {
                try insertTransition(record.bundleID, direction: "out", state: record.state.rawValue,
                                     at: record.updatedAt, detail: detail, on: c)
            }
            return true
        }
    }

    public func outgoing(_ bundleID: BundleID) throws -> OutgoingRecord? {
        try rows("reading bundle \(bundleID)", """
            SELECT \(unescaped: Self.outgoingColumns) FROM outgoing WHERE org = \(org.value) AND bundle_id = \(bundleID)
            """).first.map(Self.outgoingRecord)
    }

    public func outgoingIDs(startingWith prefix: String, limit: Int) throws -> [BundleID] {
        try rows("finding bundles starting \(prefix)", """
            SELECT bundle_id FROM outgoing WHERE org = \(org.value) AND bundle_id >= \(prefix) AND bundle_id < \(prefix + "g")
            ORDER BY bundle_id LIMIT \(limit)
            """).map { try $0[0].decode(BundleID.self) }
    }

    public func outgoing(in states: [OutgoingState]) throws -> [OutgoingRecord] {
        try rows("listing bundles by state", """
            SELECT \(unescaped: Self.outgoingColumns) FROM outgoing
            WHERE org = \(org.value) AND state = ANY(\(states.map(\.rawValue))) ORDER BY created_at, seq
            """).map(Self.outgoingRecord)
    }

    public func dueOutgoing(now: Int64, limit: Int) throws -> [OutgoingRecord] {
        guard let membership else {
            return try rows("reading due bundles", """
                SELECT \(unescaped: Self.outgoingColumns) FROM outgoing
                WHERE org = \(org.value) AND state IN ('queued', 'sealed') AND next_attempt_at <= \(now)
                ORDER BY created_at, seq LIMIT \(limit)
                """).map(Self.outgoingRecord)
        }
        // A node cut off from the database past its lease hands out nothing: another node may
        // already own its work.
        guard membership.leaseIsValid() else { return [] }
        // Each due bundle goes to one node: rows another transaction holds are skipped, not
        // waited for, and a bundle owned by a live node stays with it. A dead node's bundles
        // (its lease expired) are taken over: sealed ones by any node, queued ones only by the
        // node holding the organisation's spool lease, which finished the dead node's claims
        // (moved their files into the work folder) when it took that lease.
        // (A CTE, evaluated once: `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` may be run again
        // for each row and hand out more than n.)
        return try rows("claiming due bundles", fence: .fresh, """
            WITH picked AS (
                SELECT bundle_id FROM outgoing o
                WHERE o.org = \(org.value) AND o.state IN ('queued', 'sealed') AND o.next_attempt_at <= \(now)
                  AND (o.owner IS NULL OR o.owner = \(membership.node) OR (NOT EXISTS (
                      SELECT 1 FROM node n WHERE n.id = o.owner AND n.lease_until >= \(unescaped: Self.databaseNow))
                    AND (o.state = 'sealed' OR EXISTS (
                      SELECT 1 FROM spool_lease s WHERE s.org = o.org AND s.node = \(membership.node)))))
                ORDER BY o.created_at, o.seq LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            UPDATE outgoing SET owner = \(membership.node) FROM picked
            WHERE outgoing.org = \(org.value) AND outgoing.bundle_id = picked.bundle_id
            RETURNING \(unescaped: Self.outgoingColumns.replacingOccurrences(of: "bundle_id,", with: "outgoing.bundle_id,")), seq
            """).map { (record: try Self.outgoingRecord($0), seq: try $0[12].decode(Int64.self)) }
            .sorted { ($0.record.createdAt, $0.seq) < ($1.record.createdAt, $1.seq) }.map(\.record)
    }

    public func nextAttemptAt() throws -> Int64? {
        try rows("reading the next attempt", """
            SELECT MIN(next_attempt_at) FROM outgoing WHERE org = \(org.value) AND state IN ('queued', 'sealed')
            """).first.flatMap { try $0[0].decode(Int64?.self) }
    }

    public func expiredOutgoing(now: Int64) throws -> [OutgoingRecord] {
        // (A pass of the delivery loop starts here: new work, like claiming due bundles.)
        try rows("reading expired bundles", fence: .fresh, """
            SELECT \(unescaped: Self.outgoingColumns) FROM outgoing
            WHERE org = \(org.value) AND state IN ('queued', 'sealed', 'delivered', 'held') AND expires_at <= \(now)
            ORDER BY expires_at
            """).map(Self.outgoingRecord)
    }

    public func outgoingCounts() throws -> [OutgoingState: Int] {
        var counts: [OutgoingState: Int] = [:]
        for row in try rows("counting bundles", """
            SELECT state, n FROM outgoing_count WHERE org = \(org.value) AND n > 0
            """) {
            if let state = OutgoingState(rawValue: try row[0].decode(String.self)) { counts[state] = try row[1].decode(Int.self) }
        }
        return counts
    }

    public func openOutgoingByPartner() throws -> [OpenOutgoingCount] {
        try rows("counting open bundles", """
            SELECT partner, state, COUNT(*), MIN(created_at) FROM outgoing
            WHERE org = \(org.value) AND state IN ('queued', 'sealed', 'delivered', 'held') GROUP BY partner, state
            """).compactMap { row in
            try OutgoingState(rawValue: row[1].decode(String.self)).map {
                OpenOutgoingCount(partner: try row[0].decode(ODSCode.self), state: $0, count: try row[2].decode(Int.self),
                                  oldestCreatedAt: try row[3].decode(Int64.self))
            }
        }
    }

    public func newestOutgoing(limit: Int) throws -> [(record: OutgoingRecord, files: [OutgoingFile])] {
        let limit = min(limit, Int(Int32.max))
        let rows = try rows("listing bundles", """
            SELECT o.bundle_id, o.partner, o.state, o.created_at, o.updated_at, o.expires_at, o.attempts,
                   o.next_attempt_at, o.bundle_sha256, o.bundle_size, o.last_error, NULL::bytea,
                   f.bundle_id, f.position, f.name, f.size, f.source_path, f.work_path
            FROM (SELECT * FROM outgoing WHERE org = \(org.value) ORDER BY created_at DESC, seq DESC LIMIT \(limit)) o
            LEFT JOIN outgoing_file f ON f.org = o.org AND f.bundle_id = o.bundle_id
            ORDER BY o.created_at DESC, o.seq DESC, f.position
            """)
        var listing: [(record: OutgoingRecord, files: [OutgoingFile])] = []
        for row in rows {
            let id = try row[0].decode(BundleID.self)
            if listing.last?.record.bundleID != id { listing.append((try Self.outgoingRecord(row), [])) }
            if try row[13].decode(Int?.self) != nil {
                var c = ColumnReader(row)
                c.index = 12
                listing[listing.count - 1].files.append(OutgoingFile(
                    bundleID: try c.next(), position: try c.next(), name: try c.next(), size: try c.next(),
                    sourcePath: try c.next(), workPath: try c.next()))
            }
        }
        return listing
    }

    public func files(of bundleID: BundleID) throws -> [OutgoingFile] {
        try rows("reading the files of \(bundleID)", """
            SELECT \(unescaped: Self.fileColumns) FROM outgoing_file WHERE org = \(org.value) AND bundle_id = \(bundleID)
            ORDER BY position
            """).map(Self.outgoingFile)
    }

    public func queuedClaim(sourcePath: String) throws -> OutgoingFile? {
        try rows("finding a queued claim", """
            SELECT f.bundle_id, f.position, f.name, f.size, f.source_path, f.work_path
            FROM outgoing_file f JOIN outgoing o ON o.org = f.org AND o.bundle_id = f.bundle_id
            WHERE f.org = \(org.value) AND f.source_path = \(sourcePath) AND o.state = 'queued'
            ORDER BY o.created_at DESC LIMIT 1
            """).first.map(Self.outgoingFile)
    }

    public func claim(sourcePath: String, since: Int64) throws -> OutgoingFile? {
        try rows("finding a claim", """
            SELECT f.bundle_id, f.position, f.name, f.size, f.source_path, f.work_path
            FROM outgoing_file f JOIN outgoing o ON o.org = f.org AND o.bundle_id = f.bundle_id
            WHERE f.org = \(org.value) AND f.source_path = \(sourcePath) AND o.created_at >= \(since)
            ORDER BY o.created_at DESC LIMIT 1
            """).first.map(Self.outgoingFile)
    }

    public func isClaimed(sourcePath: String) throws -> Bool {
        try !rows("finding a claim", """
            SELECT 1 FROM outgoing_file WHERE org = \(org.value) AND source_path = \(sourcePath) LIMIT 1
            """).isEmpty
    }

    public func resizeFiles(of bundleID: BundleID, sizes: [(position: Int, size: Int64)], at time: Int64,
                            detail: String) throws {
        try transaction("resizing the files of \(bundleID)") { c in
            for (position, size) in sizes {
                _ = try rows("""
                    UPDATE outgoing_file SET size = \(size)
                    WHERE org = \(org.value) AND bundle_id = \(bundleID) AND position = \(position)
                    """, on: c)
            }
            try insertTransition(bundleID, direction: "out", state: OutgoingState.queued.rawValue, at: time,
                                 detail: detail, on: c)
        }
    }

    public func removeFile(of bundleID: BundleID, position: Int, at time: Int64, detail: String) throws {
        try transaction("removing a file of \(bundleID)") { c in
            _ = try rows("""
                DELETE FROM outgoing_file WHERE org = \(org.value) AND bundle_id = \(bundleID) AND position = \(position)
                """, on: c)
            try insertTransition(bundleID, direction: "out", state: OutgoingState.queued.rawValue, at: time,
                                 detail: detail, on: c)
        }
    }
}
