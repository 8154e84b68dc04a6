import Foundation
import Glibc
import GatehouseTesting
import Testing

/// Several `gatehouse run` nodes on one PostgreSQL journal and one shared home: a node id is
/// held by one process at a time, and a node killed with SIGKILL has its work taken over.
@Suite("Several nodes on PostgreSQL", .serialized)
struct ClusterTests {
    @Test func nodesShareAHomeRefuseADuplicateIDAndTakeOverFromADeadNode() throws {
        let server = try PostgresServer.shared.get()
        let database = try server.createDatabase()
        let pair = try DaemonPair()
        try pair.useJournal(server.journalTable(database: database, lease: "2s"), in: [pair.practice, pair.prison])
        let metricsPort = try SSHServer.freePort()
        let a = try DaemonProcess(home: pair.practice, arguments: ["--node", "practice-a", "--metrics", "127.0.0.1:\(metricsPort)"])
        let b = try DaemonProcess(home: pair.practice, arguments: ["--node", "practice-b"])
        let prison = try DaemonProcess(home: pair.prison, arguments: ["--node", "prison-a"])
        #expect(eventually(timeout: 20) { pair.logText(pair.practice).components(separatedBy: "running").count == 3 },
                "\(pair.logText(pair.practice))")

        // Healthy on PostgreSQL: no SQLite file is expected in the spool.
        var health: (status: Int, body: String)?
        #expect(eventually { health = HTTPProbe.get(port: metricsPort, "/healthz"); return health?.status == 200 },
                "\(health?.body ?? "no answer")")
        // The home lock gives way to node leases: a second process with a taken id is refused.
        let duplicate = try GatehouseProcess.run(["run", "--home", pair.practice, "--node", "practice-a"])
        #expect(duplicate.status == 17, "\(duplicate.stderr)")
        #expect(duplicate.stderr.contains("node practice-a is already running"), "\(duplicate.stderr)")
        #expect(duplicate.stderr.contains("hint:"))
        #expect(a.isRunning && b.isRunning)

        for n in 1...3 { try pair.drop("before-\(n).xml", Array("<r\(n)/>".utf8), from: pair.practice, to: "YOI123") }
        #expect(eventually { pair.states(pair.practice) == ["acknowledged", "acknowledged", "acknowledged"] },
                "\(pair.status(pair.practice))")
        // The node claiming and collecting for the practice dies without a word; the other takes
        // its work over once its lease has run out.
        let holder = try server.execute("SELECT node FROM spool_lease WHERE org = 'A81001'", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(["practice-a", "practice-b"].contains(holder), "\(holder)")
        let (dead, survivor) = holder == "practice-a" ? (a, b) : (b, a)
        dead.crash()
        for n in 1...3 { try pair.drop("after-\(n).xml", Array("<a\(n)/>".utf8), from: pair.practice, to: "YOI123") }
        #expect(eventually { pair.states(pair.practice).filter { $0 == "acknowledged" }.count == 6 },
                "\(pair.status(pair.practice))")
        // Published once each, with their bytes.
        let received = pair.received(pair.prison, from: "A81001")
        #expect(received.keys.sorted() == (1...3).map { "after-\($0).xml" } + (1...3).map { "before-\($0).xml" })
        #expect(received["after-2.xml"] == Array("<a2/>".utf8))
        #expect(pair.inboxFiles(pair.prison) == 6)
        #expect(survivor.isRunning && prison.isRunning)
        #expect(try server.execute("SELECT node FROM spool_lease WHERE org = 'A81001'", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines) != holder)
        #expect(survivor.stop() == 0)
    }
}

extension DaemonPair {
    /// Appends a `[journal]` table to each home's gatehouse.toml.
    func useJournal(_ table: String, in homes: [String]) throws {
        for home in homes {
            let config = try String(contentsOfFile: home + "/gatehouse.toml", encoding: .utf8)
            try (config + "\n" + table).write(toFile: home + "/gatehouse.toml", atomically: true, encoding: .utf8)
        }
    }

    func logText(_ home: String) -> String {
        (try? String(contentsOfFile: home + "/daemon.log", encoding: .utf8)) ?? ""
    }
}

/// Many organisations in one `gatehouse run`: `[tenants]` in a service's own gatehouse.toml.
@Suite("Tenants in one process", .serialized)
struct TenantTests {
    /// The practice and the prison served by one process, beside a tenant that cannot start
    /// (it has no mailbox): the broken one is named in the log and left out, the others
    /// exchange records as usual; `--web` serves one tenant's pages, once.
    @Test(arguments: [false, true])
    func oneProcessServesEveryTenantAndABrokenOneStopsNoOther(postgres: Bool) throws {
        let pair = try DaemonPair()
        if postgres {
            // Each tenant's own settings name the shared journal.
            let server = try PostgresServer.shared.get()
            let database = try server.createDatabase()
            try pair.useJournal(server.journalTable(database: database), in: [pair.practice, pair.prison])
        }
        let broken = pair.folder.appending("broken")
        #expect(try GatehouseProcess.run(["init", "--home", broken, "--org", "B82002", "--name", "Hillside Surgery"])
            .status == 0)
        let service = pair.folder.appending("service")
        try FileManager.default.createDirectory(atPath: service, withIntermediateDirectories: true)
        try """
            [tenants]
            homes = ["\(pair.practice)", "\(pair.prison)", "\(broken)"]

            """.write(toFile: service + "/gatehouse.toml", atomically: true, encoding: .utf8)
        let port = try SSHServer.freePort()
        let webPort = try SSHServer.freePort()
        let daemon = try DaemonProcess(home: service, arguments: [
            "--node", "service-1", "--metrics", "127.0.0.1:\(port)", "--web", "127.0.0.1:\(webPort)",
        ])
        #expect(eventually(timeout: 20) { daemon.logText.components(separatedBy: "running").count == 3 }, "\(daemon.logText)")
        #expect(daemon.logText.contains("tenant \(broken) not started"), "\(daemon.logText)")
        try pair.drop("to-prison.xml", Array("<p/>".utf8), from: pair.practice, to: "YOI123")
        try pair.drop("to-practice.xml", Array("<q/>".utf8), from: pair.prison, to: "A81001")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] && pair.states(pair.prison) == ["acknowledged"] },
                "\(daemon.logText)")
        #expect(pair.received(pair.prison, from: "A81001")["to-prison.xml"] == Array("<p/>".utf8))
        // One metrics server for the service: every gauge labelled with its tenant.
        let metrics = try #require(HTTPProbe.get(port: port, "/metrics"))
        #expect(metrics.body.contains(#"gatehouse_journal_bundles{org="A81001",state="acknowledged"} 1"#), "\(metrics.body)")
        #expect(metrics.body.contains(#"gatehouse_journal_bundles{org="YOI123",state="acknowledged"} 1"#))
        #expect(!metrics.body.contains(#"org="B82002""#))
        #expect(HTTPProbe.get(port: port, "/healthz")?.status == 200)
        // One web server for the process (one address), serving the first tenant that started.
        let signin = Array("GET /signin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        #expect(eventually(timeout: 10) { HTTPProbe.exchange(port: webPort, request: signin)?.status == 200 },
                "\(daemon.logText)")
        #expect(daemon.logText.components(separatedBy: "web pages on port").count == 2, "\(daemon.logText)")
        // A daemon of its own on a tenant's home is refused: the home lock (SQLite), or the node
        // id this process holds (PostgreSQL).
        let alone = try GatehouseProcess.run(["run", "--home", pair.practice, "--node", "service-1"])
        #expect(alone.status == 17, "\(alone.stderr)")
        #expect(daemon.stop() == 0)
    }
}

/// `gatehouse journal migrate`: a single gateway moves to PostgreSQL and carries on.
@Suite("Journal migrate command", .serialized)
struct JournalMigrateCommandTests {
    @Test func aStoppedGatewayMovesItsJournalAndCarriesOn() throws {
        let server = try PostgresServer.shared.get()
        let database = try server.createDatabase()
        let pair = try DaemonPair()
        try pair.start()
        try pair.drop("one.xml", Array("<one/>".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] }, "\(pair.status(pair.practice))")
        let url = "postgres://\(PostgresServer.user)@127.0.0.1:\(server.port)/\(database)"
        let arguments = ["journal", "migrate", "--home", pair.practice, "--to", url, "--password-file", server.passwordFile,
                         "--tls", "disable"]
        // Never beside a running gateway: it could write what is being copied.
        #expect(try GatehouseProcess.run(arguments).status == 17)
        #expect(pair.daemons[pair.practice]?.stop() == 0)
        let before = try GatehouseProcess.run(["status", "--home", pair.practice, "--json"]).stdout

        let migrated = try GatehouseProcess.run(arguments)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        #expect(migrated.stdout.contains("Copied 1 outgoing and 0 incoming bundles"), "\(migrated.stdout)")
        let table = String(migrated.stdout[try #require(migrated.stdout.range(of: "[journal]")).lowerBound...])
        try pair.useJournal(table, in: [pair.practice])
        #expect(try GatehouseProcess.run(["status", "--home", pair.practice, "--json"]).stdout == before)
        #expect(try GatehouseProcess.run(arguments).status == 12)

        // The gateway runs on PostgreSQL from here.
        pair.daemons[pair.practice] = try DaemonProcess(home: pair.practice)
        try pair.drop("two.xml", Array("<two/>".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged", "acknowledged"] }, "\(pair.status(pair.practice))")
        #expect(try server.execute("SELECT COUNT(*) FROM outgoing WHERE org = 'A81001'", database: database)
            .trimmingCharacters(in: .whitespacesAndNewlines) == "2")
    }
}

/// `gatehouse doctor` tells the truth about a PostgreSQL journal.
@Suite("Doctor on PostgreSQL", .serialized)
struct JournalDoctorTests {
    @Test func doctorReachesTheJournalAndNamesWhatIsWrong() throws {
        let server = try PostgresServer.shared.get()
        let database = try server.createDatabase()
        let pair = try DaemonPair()
        try pair.useJournal(server.journalTable(database: database), in: [pair.practice])
        // No node has created the tables yet.
        let empty = try GatehouseProcess.run(["doctor", "--home", pair.practice])
        #expect(empty.stdout.contains("WARNING  journal: PostgreSQL at 127.0.0.1:\(server.port)/\(database) as gatehouse "
                                      + "answers but holds no Gatehouse journal yet"), "\(empty.stdout)")
        let daemon = try DaemonProcess(home: pair.practice, arguments: ["--node", "doctor-a"])
        #expect(eventually { daemon.logText.contains("running") }, "\(daemon.logText)")
        let healthy = try GatehouseProcess.run(["doctor", "--home", pair.practice])
        #expect(healthy.stdout.contains("OK       journal: PostgreSQL at 127.0.0.1:\(server.port)/\(database)"),
                "\(healthy.stdout)")
        #expect(daemon.stop() == 0)
        // A password file others may read is a problem, with the fix.
        let copy = pair.folder.appending("journal-password")
        try FileManager.default.copyItem(atPath: server.passwordFile, toPath: copy)
        chmod(copy, 0o644)
        let settings = try String(contentsOfFile: pair.practice + "/gatehouse.toml", encoding: .utf8)
        try settings.replacingOccurrences(of: server.passwordFile, with: copy)
            .write(toFile: pair.practice + "/gatehouse.toml", atomically: true, encoding: .utf8)
        let loose = try GatehouseProcess.run(["doctor", "--home", pair.practice])
        #expect(loose.status != 0)
        #expect(loose.stdout.contains("PROBLEM  journal: the journal's password file \(copy) is open to others"),
                "\(loose.stdout)")
        #expect(loose.stdout.contains("chmod 600"))
    }
}
