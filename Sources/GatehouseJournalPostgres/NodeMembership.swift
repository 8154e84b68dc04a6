import Foundation
import GatehouseJournal
import PostgresNIO
import Synchronization

/// One node's place in a service of several: a row in `node` with a lease it renews.
///
/// A node joins with a fresh random token; a second process claiming the same node id is
/// refused while the first one's lease runs. The lease is renewed by ``heartbeat(_:)`` (every
/// lease / 3); when a node stops renewing (killed, cut off from the database), its bundles and
/// its spool lease go to the other nodes once the lease has expired by the database's clock.
/// A node that cannot renew stops handing out work at the end of its lease by its own clock,
/// which starts before the database's: it stops before anyone takes over. Its journals refuse
/// every call from then on, and once it renews again they refuse calls about the work it had in
/// hand until it claims afresh (``epoch``): that work may have been taken over meanwhile.
final class NodeMembership: Sendable {
    let node: String
    let lease: Duration
    let token = UUID().uuidString.lowercased()
    /// Until when (monotonic clock) this node's lease surely runs.
    let validUntil = Mutex<ContinuousClock.Instant?>(nil)
    /// Counts the lease's lapses: a renewal after the lease ran out starts a new epoch.
    private let epochBox = Mutex(0)
    /// Set once the node left (at a graceful stop): later heartbeats of tenants sharing the
    /// membership are not a lost lease.
    private let left = Mutex(false)

    init(node: String, lease: Duration) {
        self.node = node
        self.lease = lease
    }

    /// Memberships of this process by database and node id: the journals of several tenants in
    /// one process share their node's membership (one row, one lease) instead of refusing each other.
    private static let memberships = Mutex<[String: NodeMembership]>([:])

    /// This process's membership as `node` in the database `settings` names, joining when it has
    /// none (or lost it).
    static func shared(node: String, settings: PostgresSettings, journal: PostgresJournal) throws(JournalError)
        -> NodeMembership {
        let key = settings.describe + " " + node
        if let existing = memberships.withLock({ $0[key] }), existing.leaseIsValid() { return existing }
        let membership = try joined(node: node, settings: settings, journal: journal)
        memberships.withLock { $0[key] = membership }
        return membership
    }

    /// A new membership as `node`, joined.
    static func joined(node: String, settings: PostgresSettings, journal: PostgresJournal) throws(JournalError)
        -> NodeMembership {
        let membership = NodeMembership(node: node, lease: settings.lease)
        try membership.join(journal)
        return membership
    }

    var leaseMilliseconds: Int64 { lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000 }

    func leaseIsValid() -> Bool { validUntil.withLock { $0.map { ContinuousClock.now < $0 } ?? false } }

    /// The current lease epoch (see ``validUntil``): work begun in an earlier one may be another node's now.
    var epoch: Int { epochBox.withLock { $0 } }

    func join(_ journal: PostgresJournal) throws(JournalError) {
        let started = ContinuousClock.now
        let host = ProcessInfo.processInfo.hostName
        let rows = try journal.rows("joining as node \(node)", """
            INSERT INTO node (id, token, lease_until, joined_at, host)
            VALUES (\(node), \(token), \(unescaped: PostgresJournal.databaseNow) + \(leaseMilliseconds),
                    \(unescaped: PostgresJournal.databaseNow), \(host))
            ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token, lease_until = EXCLUDED.lease_until,
                joined_at = EXCLUDED.joined_at, host = EXCLUDED.host
            WHERE node.lease_until < \(unescaped: PostgresJournal.databaseNow)
            RETURNING id
            """)
        guard !rows.isEmpty else {
            throw .membership("node \(node) is already running (its lease in the journal is still held)",
                              hint: "give each node its own id (`node` under [journal] in gatehouse.toml, or "
                                  + "--node); a node that was killed is free again after its lease, \(lease)")
        }
        validUntil.withLock { $0 = started + lease }
    }

    func heartbeat(_ journal: PostgresJournal) throws(JournalError) {
        guard !left.withLock({ $0 }) else { return }
        let started = ContinuousClock.now
        let renewed: Bool, lapsed: Bool
        do {
            // Also says whether the lease had run out by the database's clock (the one the other
            // nodes' takeovers go by), read from the row as it was before this update.
            let rows = try journal.rows("renewing the lease of node \(node)", fence: .none, """
                UPDATE node n SET lease_until = \(unescaped: PostgresJournal.databaseNow) + \(leaseMilliseconds)
                FROM node o WHERE n.id = \(node) AND n.token = \(token) AND o.id = n.id
                RETURNING o.lease_until < \(unescaped: PostgresJournal.databaseNow)
                """)
            renewed = !rows.isEmpty
            lapsed = try rows.first.map { try $0[0].decode(Bool.self) } ?? false
        } catch {
            // Cut off for now: keep trying until the lease runs out.
            if leaseIsValid() { return }
            throw .membership("node \(node) could not renew its lease before it ran out: \(error)")
        }
        guard renewed else {
            validUntil.withLock { $0 = nil }
            throw .membership("node \(node) lost its lease: another process joined under the same id after it expired")
        }
        // Renewed after it had run out in the database (cut off, then back): other nodes may have
        // taken this node's bundles and spool leases meanwhile, so work begun before is not
        // finished. (A node merely slow to renew, whose lease the others still saw running,
        // keeps its work: nobody could have taken it.)
        if lapsed { epochBox.withLock { $0 += 1 } }
        validUntil.withLock { $0 = started + lease }
    }

    func holdsSpoolLease(_ journal: PostgresJournal) throws(JournalError) -> Bool {
        guard leaseIsValid() else { return false }
        // The lease follows the node's: held while the holder is alive, taken over when it is not.
        return try !journal.rows("taking the spool lease of \(journal.org)", fence: .check, """
            INSERT INTO spool_lease (org, node) VALUES (\(journal.org.value), \(node))
            ON CONFLICT (org) DO UPDATE SET node = EXCLUDED.node
            WHERE spool_lease.node = EXCLUDED.node OR NOT EXISTS (
                SELECT 1 FROM node n WHERE n.id = spool_lease.node AND n.lease_until >= \(unescaped: PostgresJournal.databaseNow))
            RETURNING node
            """).isEmpty
    }

    func leave(_ journal: PostgresJournal) {
        guard !left.withLock({ (done: inout Bool) in defer { done = true }; return done }) else { return }
        validUntil.withLock { $0 = nil }
        _ = try? journal.transaction("leaving as node \(node)", fence: .none) { c in
            _ = try journal.rows("DELETE FROM spool_lease WHERE node = \(node)", on: c)
            _ = try journal.rows("UPDATE outgoing SET owner = NULL WHERE owner = \(node)", on: c)
            _ = try journal.rows("DELETE FROM node WHERE id = \(node) AND token = \(token)", on: c)
        }
    }
}
