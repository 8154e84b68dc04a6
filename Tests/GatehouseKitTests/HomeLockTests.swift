import Foundation
import Glibc
import GatehouseKit
import GatehouseTesting
import Testing

/// `send --wait` tells "the gateway is starting" from "no gateway has ever run" by the daemon
/// lock's PID: named only while a live gatehouse process holds the lock.
@Suite("The running daemon of a home")
struct RunningDaemonTests {
    @Test func theDaemonIsNamedOnlyWhileItHoldsTheLock() throws {
        let folder = try TemporaryDirectory()
        let home = GatehouseHome(path: folder.appending("home"))
        #expect(HomeLock.runningDaemon(home) == nil, "no lock file yet")
        let lock = try HomeLock.daemon(home)
        // This test process runs gatehouse too (its command line names the package's tests).
        #expect(HomeLock.runningDaemon(home) == getpid())
        lock.release()
        #expect(HomeLock.runningDaemon(home) == nil, "released: the PID goes with the lock")
        // A daemon killed with SIGKILL leaves its PID; a process that is gone is named by no one.
        try Data("2147483646\n".utf8).write(to: URL(fileURLWithPath: home.path + "/gatehouse.lock"))
        #expect(HomeLock.runningDaemon(home) == nil)
        // Nor is a live process that is not gatehouse (PID 1, init).
        try Data("1\n".utf8).write(to: URL(fileURLWithPath: home.path + "/gatehouse.lock"))
        #expect(HomeLock.runningDaemon(home) == nil)
    }
}
