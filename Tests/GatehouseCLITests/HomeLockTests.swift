import Foundation
import Glibc
import Synchronization
import GatehouseTesting
import Testing

/// Issue 13, vulnerability 4: one `gatehouse run` per home. With two, records were claimed into
/// two bundles, bundles the partner published were marked failed, and one record was lost.
@Suite("One daemon per home", .serialized)
struct HomeLockTests {
    @Test func aSecondRunOnTheSameHomeExitsAtOnceNamingTheFirst() throws {
        let pair = try DaemonPair()
        try pair.start()
        let first = try #require(pair.daemons[pair.practice])
        #expect(eventually(timeout: 10) { (try? String(contentsOfFile: pair.practice + "/daemon.log", encoding: .utf8))?.contains("running") == true })
        // The second exits by itself, at once, before it touches the journal or the spool.
        let second = try GatehouseProcess.run(["run", "--home", pair.practice])
        #expect(second.status == 17, "\(second.stderr)")
        #expect(second.stderr.contains("another `gatehouse run` (PID \(first.pid)) is already running on \(pair.practice)"), "\(second.stderr)")
        #expect(second.stderr.contains("hint:"))
        #expect(first.isRunning)
        // Records still travel once each.
        try pair.drop("one.xml", Array("<one/>".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] }, "\(pair.status(pair.practice))")
        // A daemon killed with SIGKILL leaves no stale lock: the next one starts.
        first.crash()
        let restarted = try DaemonProcess(home: pair.practice)
        try pair.drop("two.xml", Array("<two/>".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged", "acknowledged"] }, "\(pair.status(pair.practice))")
        #expect(restarted.isRunning)
        #expect(restarted.stop() == 0)
    }

    /// Key changes take their own short lock: a rotation while another command holds it waits,
    /// and never signs a second manifest with the same version.
    @Test func concurrentRotationsNeverSignTheSameVersionTwice() throws {
        let folder = try TemporaryDirectory()
        let home = folder.appending("home")
        #expect(try GatehouseProcess.run(["init", "--home", home, "--org", "A81001", "--name", "Riverside Medical Practice"]).status == 0)
        let statuses = Mutex<[Int32]>([])
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let out = try? GatehouseProcess.run(["keys", "rotate", "--grace", "1h", "--home", home])
            statuses.withLock { $0.append(out?.status ?? -1) }
            if let out, out.status != 0 { errors.withLock { $0.append(out.stderr) } }
        }
        #expect(statuses.withLock { $0 } == [0, 0, 0, 0], "\(errors.withLock { $0 })")
        let card = try String(contentsOfFile: home + "/keys/identity.card", encoding: .utf8)
        let status = try GatehouseProcess.run(["keys", "status", "--json", "--home", home])
        #expect(status.stdout.contains("\"manifest_version\" : 5") || status.stdout.contains("\"manifest_version\":5"), "\(status.stdout)")
        _ = card
    }
}
