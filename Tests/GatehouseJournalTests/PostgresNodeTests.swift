import Foundation
import GatehouseFormat
import GatehouseJournal
@testable import GatehouseJournalPostgres
import GatehouseKit
import GatehouseTesting
import Testing

/// Several nodes on one PostgreSQL journal: membership, due work handed to one node, leases
/// taken over from a dead node. A node's death is made by expiring its lease in the database,
/// so no test waits for a clock.
@Suite("PostgreSQL journal: several nodes")
struct PostgresNodeTests {
    let server: PostgresServer
    let database: String
    let settings: PostgresSettings
    let org = try! ODSCode("A81001")

    init() throws {
        server = try PostgresServer.shared.get()
        database = try server.createDatabase()
        settings = try PostgresSettings(server.journalSettings(database: database))
    }

    /// A node as a process of its own would join.
    func node(_ id: String, org: ODSCode? = nil) throws -> PostgresJournal {
        try PostgresJournal(settings: settings, org: org ?? self.org, migrate: true, node: id, sharing: false)
    }

    /// The node's lease runs out (as when it was killed and stopped renewing).
    func expire(_ id: String) throws {
        try server.execute("UPDATE node SET lease_until = 0 WHERE id = '\(id)'", database: database)
    }

    func due(_ count: Int) -> [NewOutgoing] {
        (0..<count).map {
            NewOutgoing(record: OutgoingRecord(bundleID: TestID.bundle($0), partner: TestID.ods("YOI123"),
                                               createdAt: Int64(1_000 + $0), expiresAt: 99_999_999), files: [])
        }
    }

    @Test func aSecondProcessWithTheSameNodeIDIsRefused() throws {
        let first = try node("node-a")
        let error = #expect(throws: JournalError.self) { try node("node-a") }
        #expect(error?.kind == .membership)
        #expect(error?.message.contains("node-a is already running") == true)
        // Another id joins beside it.
        _ = try node("node-b")
        // Once the first one's lease has run out, its id may be taken again, and the first
        // process learns at its next heartbeat that it lost it.
        try expire("node-a")
        _ = try node("node-a")
        let lost = #expect(throws: JournalError.self) { try first.heartbeat() }
        #expect(lost?.kind == .membership)
        #expect(try first.dueOutgoing(now: 10_000, limit: 10).isEmpty)
    }

    /// Tenants in one process share their node's membership: one row, one lease, no refusal.
    @Test func tenantsOfOneProcessShareTheirNodesMembership() throws {
        let practice = try PostgresJournal(settings: settings, org: org, migrate: true, node: "node-t")
        let prison = try PostgresJournal(settings: settings, org: ODSCode("YOI123"), migrate: true, node: "node-t")
        #expect(try practice.holdsSpoolLease() && prison.holdsSpoolLease())
        #expect(try server.execute("SELECT COUNT(*) FROM node WHERE id = 'node-t'", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        // Another process under that id is still refused.
        #expect(throws: JournalError.self) { try node("node-t") }
    }

    /// The journal of a process that is no node (as `journal migrate` writes): its bundles are nobody's.
    func unowned() throws -> PostgresJournal {
        try PostgresJournal(settings: settings, org: org, migrate: true)
    }

    @Test func dueWorkGoesToOneNodeAndADeadNodesWorkIsTakenOver() throws {
        let a = try node("node-a"), b = try node("node-b")
        try unowned().insert(due(4))
        let mine = try a.dueOutgoing(now: 10_000, limit: 2).map(\.bundleID)
        #expect(mine.count == 2)
        let theirs = try b.dueOutgoing(now: 10_000, limit: 10).map(\.bundleID)
        #expect(Set(theirs) == Set(due(4).map(\.record.bundleID)).subtracting(mine))
        // A live node keeps its work.
        #expect(Set(try a.dueOutgoing(now: 10_000, limit: 10).map(\.bundleID)) == Set(mine))
        #expect(Set(try b.dueOutgoing(now: 10_000, limit: 10).map(\.bundleID)) == Set(theirs))
        // A dead one's is taken over (queued ones by the spool lease's new holder).
        try expire("node-a")
        #expect(try b.holdsSpoolLease())
        #expect(try b.dueOutgoing(now: 10_000, limit: 10).count == 4)
    }

    /// A bundle a node claims is its own from the claim's commit: another node sealing it before
    /// the claiming node moved its files into the work folder found none and failed the record
    /// (seen in the partition test). When the claiming node dies, its queued bundles go only to
    /// the node holding the spool lease (which finishes the dead node's claims first); its sealed
    /// ones to any node.
    @Test func aClaimedBundleStaysWithItsNodeUntilTheSpoolLeaseMoves() throws {
        let a = try node("node-a"), b = try node("node-b"), c = try node("node-c")
        #expect(try a.holdsSpoolLease())
        try a.insert(due(2))
        #expect(try b.dueOutgoing(now: 10_000, limit: 10).isEmpty)
        var sealed = try #require(try a.dueOutgoing(now: 10_000, limit: 10).first)
        sealed.state = .sealed
        try a.save(sealed)
        try expire("node-a")
        // node-c, without the spool lease, may deliver the sealed one only.
        #expect(try c.dueOutgoing(now: 10_000, limit: 10).map(\.bundleID) == [sealed.bundleID])
        #expect(try b.dueOutgoing(now: 10_000, limit: 10).isEmpty)
        #expect(try b.holdsSpoolLease())
        #expect(try b.dueOutgoing(now: 10_000, limit: 10).count == 1)
    }

    /// A node cut off from the database past its lease, then back (a healed partition), must not
    /// go on with what it had in hand: another node took the bundle over and delivered it meanwhile,
    /// and the stale node's "sealed" (a second sealing, a second upload) would overwrite that.
    @Test func aNodeWhoseLeaseLapsedDropsTheWorkItHadInHand() throws {
        let a = try node("node-a"), b = try node("node-b")
        try a.insert(due(1))
        var stale = try #require(try a.dueOutgoing(now: 10_000, limit: 10).first)
        // Cut off: its lease runs out by its own clock and then by the database's.
        a.membership?.validUntil.withLock { $0 = ContinuousClock.now - .seconds(1) }
        try expire("node-a")
        let cut = #expect(throws: JournalError.self) { try a.files(of: stale.bundleID) }
        #expect(cut?.kind == .membership)
        #expect(try b.holdsSpoolLease())
        var taken = try #require(try b.dueOutgoing(now: 10_000, limit: 10).first)
        #expect(taken.bundleID == stale.bundleID)
        taken.state = .delivered
        try b.save(taken)
        // Healed: it renews its lease, but what it had in hand stays with node-b.
        try a.heartbeat()
        stale.state = .sealed
        stale.bundleSHA256 = String(repeating: "0", count: 64)
        let refused = #expect(throws: JournalError.self) { try a.save(stale) }
        #expect(refused?.kind == .membership)
        // Every call about that work is refused, not only the first (a batch of due bundles in hand).
        #expect(throws: JournalError.self) { try a.files(of: stale.bundleID) }
        #expect(try b.outgoing(taken.bundleID)?.state == .delivered)
        #expect(try b.outgoing(taken.bundleID)?.bundleSHA256 == nil)
        // Claiming afresh ends it, and the bundle is not its to claim.
        #expect(try a.dueOutgoing(now: 10_000, limit: 10).isEmpty)
        #expect(try a.files(of: stale.bundleID).isEmpty)
    }

    @Test func aNodeThatLeavesFreesItsWorkAtOnce() throws {
        let a = try node("node-a"), b = try node("node-b")
        try a.insert(due(3))
        #expect(try a.dueOutgoing(now: 10_000, limit: 10).count == 3)
        #expect(try b.dueOutgoing(now: 10_000, limit: 10).isEmpty)
        a.leave()
        #expect(try b.dueOutgoing(now: 10_000, limit: 10).count == 3)
        #expect(try b.holdsSpoolLease())
    }

    /// Two nodes claiming at once from a backlog: every bundle goes to exactly one of them.
    @Test func concurrentClaimsNeverShareABundle() async throws {
        let a = try node("node-a"), b = try node("node-b")
        try unowned().insert(due(300))
        // Each node delivers what it claimed (so it is due no more) and claims again until none is left.
        func drain(_ journal: PostgresJournal) async throws -> [BundleID] {
            var claimed: [BundleID] = []
            while true {
                try journal.heartbeat()  // as a node's heartbeat service does, however slow the machine
                let batch = try journal.dueOutgoing(now: 10_000, limit: 7)
                if batch.isEmpty { return claimed }
                for var record in batch {
                    record.state = .delivered
                    try journal.save(record)
                }
                claimed += batch.map(\.bundleID)
                await Task.yield()
            }
        }
        async let first = drain(a)
        async let second = drain(b)
        let (x, y) = try await (first, second)
        #expect(Set(x).isDisjoint(with: y))
        #expect(x.count + y.count == 300)
        #expect(Set(x + y).count == 300)
    }

    @Test func oneNodeAtATimeHoldsAnOrganisationsSpoolLease() throws {
        let a = try node("node-a"), b = try node("node-b")
        #expect(try a.holdsSpoolLease())
        #expect(try !b.holdsSpoolLease())
        #expect(try a.holdsSpoolLease())
        // Another organisation's lease is its own.
        let other = try node("node-c", org: ODSCode("YOI123"))
        #expect(try other.holdsSpoolLease())
        try expire("node-a")
        #expect(try b.holdsSpoolLease())
        #expect(try !a.holdsSpoolLease())
    }

    /// One database, many organisations: each sees only its own rows, even for the same bundle id.
    @Test func organisationsSharingADatabaseSeeOnlyTheirOwnRows() throws {
        let practice = try PostgresJournal(settings: settings, org: org, migrate: true)
        let prison = try PostgresJournal(settings: settings, org: ODSCode("YOI123"), migrate: true)
        let id = TestID.bundle(String(repeating: "ab", count: 16))
        try practice.insert(OutgoingRecord(bundleID: id, partner: TestID.ods("YOI123"), createdAt: 1, expiresAt: 2), files: [])
        #expect(try prison.outgoing(id) == nil)
        #expect(try prison.outgoingCounts().isEmpty)
        let incoming = IncomingRecord(bundleID: id, sender: TestID.ods("A81001"), state: .published, receivedAt: 3,
                                      bundleSHA256: String(repeating: "0", count: 64), receipt: [9])
        try prison.insert(incoming)
        #expect(try practice.incoming(id) == nil)
        #expect(try prison.incoming(id) == incoming)
    }

    /// The password never sits in gatehouse.toml, and a password file others may read is refused.
    @Test func passwordsStayOutOfTheSettingsAndPrivate() throws {
        let folder = try TemporaryDirectory()
        let loose = try folder.write("password", Array("secret\n".utf8))
        chmod(loose, 0o644)
        var settings = server.journalSettings(database: database)
        settings.passwordFile = loose
        let error = #expect(throws: JournalError.self) { try PostgresSettings(settings) }
        #expect(error?.kind == .configuration)
        #expect(error?.hint == "chmod 600 \(loose)")
        #expect(throws: KitError.self) {
            try GatehouseConfig.parse("[journal]\nurl = \"postgres://gatehouse:secret@db.example.net/gatehouse\"\n")
        }
        let config = try GatehouseConfig.parse(server.journalTable(database: database))
        #expect(config.journal?.passwordFile == server.passwordFile)
        #expect(config.journal?.tls == .disable)
    }

    /// A node cut off from the database (here: the database is gone) stops handing out work and
    /// claiming the spool once its lease has run out by its own clock, and its heartbeat then
    /// fails as a lost membership (the daemon stops), so it never works on after a takeover.
    @Test func aNodeCutOffFromTheDatabaseStopsWithinItsLease() throws {
        let own = try PostgresServer.start()
        var journal = own.journalSettings(database: try own.createDatabase())
        journal.lease = .seconds(2)
        let node = try PostgresJournal(settings: PostgresSettings(journal), org: org, migrate: true, node: "node-cut",
                                       sharing: false)
        try node.insert(due(2))
        own.stop()
        // Within the lease, a failed renewal is waited out (the database may come back).
        try node.heartbeat()
        Thread.sleep(forTimeInterval: 2.2)
        #expect(try node.dueOutgoing(now: 10_000, limit: 10).isEmpty)
        #expect(try !node.holdsSpoolLease())
        let error = #expect(throws: JournalError.self) { try node.heartbeat() }
        #expect(error?.kind == .membership)
        #expect(error?.message.contains("could not renew its lease before it ran out") == true)
    }

    /// `tls = "require"` never falls back to plain text: a server without TLS is refused.
    @Test func requiredTLSIsNeverDowngraded() throws {
        var journal = server.journalSettings(database: database)
        journal.tls = .require
        let error = #expect(throws: JournalError.self) {
            try PostgresJournal(settings: PostgresSettings(journal), org: org, migrate: true)
        }
        #expect(error?.kind == .database)
        #expect(error?.message.contains("sslUnsupported") == true, "\(error?.message ?? "")")
    }

    /// A wrong password is a database error naming the database, never the password.
    @Test func aWrongPasswordIsANamedError() throws {
        let folder = try TemporaryDirectory()
        let wrong = try folder.write("password", Array("not-the-password".utf8))
        chmod(wrong, 0o600)
        var journal = server.journalSettings(database: database)
        journal.passwordFile = wrong
        let error = #expect(throws: JournalError.self) {
            try PostgresJournal(settings: PostgresSettings(journal), org: org, migrate: true)
        }
        #expect(error?.kind == .database)
        #expect(error?.message.contains("127.0.0.1:\(server.port)/\(database)") == true)
        #expect(error?.message.contains("not-the-password") == false)
    }
}
