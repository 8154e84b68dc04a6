public import GatehouseFormat
public import GatehouseJournal
import PostgresNIO
import Synchronization

/// The journal in PostgreSQL: one database for many organisations and several nodes.
///
/// Every row carries the organisation it belongs to, so one database serves every tenant of a
/// hosted service. The ``Journal`` protocol is synchronous (the engine acts on a transition only
/// once it is committed); queries run on postgres-nio's event loop threads and the caller waits
/// for their futures, never on a task of the cooperative pool (waiting there for work that
/// needs the pool could stall it on a 2-core machine). One connection per journal, used by one
/// call at a time; a broken connection is replaced at the next call.
public final class PostgresJournal: Journal, Sendable {
    /// The organisation whose rows this journal reads and writes.
    public let org: ODSCode
    /// This node's membership, when it runs the daemon (nil for readers such as `status`).
    private(set) var membership: NodeMembership? {
        get { membershipBox.withLock { $0 } }
        set { membershipBox.withLock { $0 = newValue } }
    }
    private let membershipBox = Mutex<NodeMembership?>(nil)
    let settings: PostgresSettings
    let logger = Logger(label: "gatehouse.journal")
    private let connection = Mutex<PostgresConnection?>(nil)
    /// True once `pack_nhs` was seen (a reader's database may not be migrated yet).
    let nhsIndexSeen = Mutex(false)
    /// The lease epoch of this journal's last fenced call, and whether the work in hand before
    /// a lapse is still being refused (see ``fence(_:_:)``).
    private let lapse = Mutex<(epoch: Int?, stale: Bool)>((nil, false))

    /// Connects to the database `settings` names, for the rows of `org`; creates or migrates the
    /// schema when `migrate` is true (the daemon; readers never migrate). With `node`, joins as
    /// that node (see ``NodeMembership``): refused while another live process holds the same id.
    public convenience init(settings: PostgresSettings, org: ODSCode, migrate: Bool, node: String? = nil)
        throws(JournalError) {
        try self.init(settings: settings, org: org, migrate: migrate, node: node, sharing: true)
    }

    /// With `sharing` false, joins as a process of its own would (tests of two processes).
    init(settings: PostgresSettings, org: ODSCode, migrate: Bool, node: String?, sharing: Bool) throws(JournalError) {
        self.settings = settings
        self.org = org
        if migrate { try PostgresSchema.migrate(self) }
        if let node {
            membership = sharing ? try NodeMembership.shared(node: node, settings: settings, journal: self)
                                 : try NodeMembership.joined(node: node, settings: settings, journal: self)
        }
    }

    deinit {
        connection.withLock { $0.map { try? $0.close().wait() } }
    }

    // MARK: Running queries

    /// How a node's call is fenced by its lease (see ``fence(_:_:)``).
    enum Fence {
        /// Work in hand: refused while the lease has run out, and after a lapse until ``fresh``.
        case inHand
        /// The start of new work (claiming due bundles): allowed after a lapse, and ends it.
        case fresh
        /// A check that starts nothing by itself (the spool lease): allowed after a lapse.
        case check
        /// The membership's own calls (renewing, leaving): never fenced.
        case none
    }

    /// Runs `body` with this journal's connection, connecting first when there is none (or the
    /// last one broke). Errors become ``JournalError``s naming the database, never its password.
    /// A node's calls are fenced by its lease: see ``fence(_:_:)``.
    func withConnection<T>(_ what: String, fence mode: Fence = .inHand, recheck: Bool = true,
                           _ body: (PostgresConnection) throws -> T) throws(JournalError) -> T {
        let epoch = mode == .none ? nil : try fence(what, mode)
        let result = try connected(what, body)
        // An answer that came back after the lease ran out (the node was cut off while it
        // waited) is not acted on: the work may be another node's by now. Not for a committed
        // transaction: the caller must learn that it is in the journal (a claim reported failed
        // after its commit left a bundle whose files were never moved), and its next call is
        // fenced anyway.
        if recheck, let epoch, let membership, !membership.leaseIsValid() || membership.epoch != epoch {
            throw .membership("node \(membership.node)'s lease ran out while \(what) waited for the database; "
                              + "the work in hand is left to the node that takes it over")
        }
        return result
    }

    /// Refuses every call of a node whose lease has run out. Once it renewed a lease that had run
    /// out (a new epoch), another node may have taken over the bundles and spool leases it had:
    /// the work it had in hand must not go on (no second seal, upload or publication), so calls
    /// about it are refused until it starts afresh by claiming due bundles. Returns the epoch the
    /// call runs in; nil for a reader.
    private func fence(_ what: String, _ mode: Fence) throws(JournalError) -> Int? {
        guard let membership else { return nil }
        let epoch = membership.epoch
        guard membership.leaseIsValid() else {
            throw .membership("node \(membership.node)'s lease has run out (cut off from the database?): not \(what)")
        }
        let stale = lapse.withLock { state in
            if let seen = state.epoch, seen != epoch { state.stale = true }
            state.epoch = epoch
            if mode == .fresh { state.stale = false }
            return state.stale
        }
        if stale && mode == .inHand {
            throw .membership("node \(membership.node)'s lease ran out and was renewed: the work in hand before "
                              + "is left to the node that took it over (not \(what))")
        }
        return epoch
    }

    private func connected<T>(_ what: String, _ body: (PostgresConnection) throws -> T) throws(JournalError) -> T {
        do {
            return try connection.withLock { current in
                if current == nil || current!.isClosed {
                    current = try PostgresConnection.connect(
                        on: MultiThreadedEventLoopGroup.singleton.next(), configuration: settings.connection,
                        id: 1, logger: logger
                    ).wait()
                }
                do { return try body(current!) } catch {
                    // After a failure inside a transaction the connection may hold it open: start
                    // afresh rather than guess its state.
                    if current?.isClosed == false, Self.leavesTransactionOpen(error) { _ = try? current?.close().wait() }
                    throw error
                }
            }
        } catch let error as JournalError {
            throw error
        } catch {
            throw JournalError.database("\(what) in \(settings.describe)", reason: Self.reason(error))
        }
    }

    /// What went wrong, in one line: the server's message and SQLSTATE, or the client's error
    /// code (never the query's values, which may name a patient's file).
    static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
        }
        return error.underlying.map { "\(error.code): \(reason($0))" } ?? "\(error.code)"
    }

    private static func leavesTransactionOpen(_ error: any Error) -> Bool { !(error is JournalError) }

    /// Runs one statement and returns its rows.
    func rows(_ query: PostgresQuery, on connection: PostgresConnection) throws -> [PostgresRandomAccessRow] {
        try connection.query(query, logger: logger).wait().map { $0.makeRandomAccess() }
    }

    /// Runs one statement outside a transaction.
    func rows(_ what: String, fence: Fence = .inHand, _ query: PostgresQuery) throws(JournalError)
        -> [PostgresRandomAccessRow] {
        try withConnection(what, fence: fence) { try rows(query, on: $0) }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ what: String, fence: Fence = .inHand, _ body: (PostgresConnection) throws -> T)
        throws(JournalError) -> T {
        try withConnection(what, fence: fence, recheck: false) { connection in
            _ = try connection.query("BEGIN", logger: logger).wait()
            let result: T
            do { result = try body(connection) } catch {
                _ = try? connection.query("ROLLBACK", logger: logger).wait()
                throw error
            }
            _ = try connection.query("COMMIT", logger: logger).wait()
            return result
        }
    }

    /// The database's clock in ms since the epoch: leases are judged by one clock, not each node's.
    static let databaseNow = "(extract(epoch from clock_timestamp()) * 1000)::bigint"

    // MARK: Membership

    /// True for a daemon's journal (a node among others); false for a reader's.
    public var isShared: Bool { membership != nil }

    /// True when this process may claim from the outbox and collect the mailbox now.
    public func holdsSpoolLease() throws -> Bool {
        guard let membership else { return true }
        return try membership.holdsSpoolLease(self)
    }

    /// Renews this node's lease (see ``NodeMembership/heartbeat(_:)``).
    public func heartbeat() throws {
        try membership?.heartbeat(self)
    }

    /// Leaves the membership: this node's work is free for the others at once.
    public func leave() {
        membership?.leave(self)
    }
}

/// Reads a row's columns in order.
struct ColumnReader {
    let row: PostgresRandomAccessRow
    var index = 0

    init(_ row: PostgresRandomAccessRow) { self.row = row }

    mutating func next<T: PostgresDecodable>(_: T.Type = T.self) throws -> T {
        defer { index += 1 }
        return try row[index].decode(T.self)
    }

    mutating func bytes() throws -> [UInt8]? {
        try next(ByteBuffer?.self).map { Array($0.readableBytesView) }
    }
}

extension PostgresJournal {
    /// The journal for reading, without migrating; nil when no gateway has created its tables yet.
    public static func openIfCreated(settings: PostgresSettings, org: ODSCode) throws(JournalError) -> PostgresJournal? {
        let journal = try PostgresJournal(settings: settings, org: org, migrate: false)
        let created = try journal.withConnection("looking for the journal's tables") { c in
            try journal.rows("SELECT to_regclass('gatehouse_schema') IS NOT NULL", on: c).first?[0].decode(Bool.self) ?? false
        }
        return created ? journal : nil
    }
}
