import Foundation
import Glibc
import GatehouseTesting
import Testing

/// A staff account outside the home's group: told permission denied with the group, never "no identity".
@Suite("Read-only commands for operators")
struct OperatorAccessTests {
    /// Runs `gatehouse ARGS` as `nobody` (setpriv); nil when this is not root or setpriv is missing.
    func runAsNobody(_ arguments: [String]) throws -> ProcessOutput? {
        guard getuid() == 0, access("/usr/bin/setpriv", X_OK) == 0 else { return nil }
        return try GatehouseProcess.runProgram("/usr/bin/setpriv",
            ["--reuid=nobody", "--regid=nogroup", "--clear-groups", try GatehouseProcess.binaryPath()] + arguments)
    }

    /// Only root can run a command as another user here; elsewhere the skip is recorded.
    static let canSwitchUser = getuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0

    /// A new initialised home in a folder every user may enter.
    static func makeHome() throws -> (TemporaryDirectory, String) {
        let folder = try TemporaryDirectory()
        chmod(folder.path, 0o755)
        let home = folder.appending("home")
        let created = try GatehouseProcess.run(["init", "--home", home, "--org", "A81001", "--name", "Riverside Medical Practice",
                                                "--mailbox", "dir:" + folder.appending("mailboxes")])
        try #require(created.status == 0)
        return (folder, home)
    }

    @Test(.enabled(if: canSwitchUser, "needs root and setpriv to run a command as another user"))
    func aPrivateHomeIsPermissionDeniedNotUninitialised() throws {
        let (folder, home) = try Self.makeHome()
        defer { withExtendedLifetime(folder) {} }
        chmod(home, 0o700)
        for command in [["inbox"], ["status"], ["receipt", "show", String(repeating: "0", count: 32)]] {
            let output = try #require(try runAsNobody(command + ["--home", home]))
            #expect(output.status == 13, "\(command): \(output.stderr)")
            #expect(output.stderr.contains("gatehouse: error: permission denied reading"), "\(output.stderr)")
            #expect(output.stderr.contains("gatehouse: hint:") && output.stderr.contains("group 'root'"), "\(output.stderr)")
            #expect(!output.stderr.contains("no Gatehouse identity"))
        }
    }

    @Test(.enabled(if: canSwitchUser, "needs root and setpriv to run a command as another user"))
    func anOperatorGroupReadsWithoutTheKeys() throws {
        let (folder, home) = try Self.makeHome()
        defer { withExtendedLifetime(folder) {} }
        // The documented set-up: home and spool 2750 of the operator group, keys/ left 0700.
        try FileManager.default.createDirectory(atPath: home + "/spool", withIntermediateDirectories: true)
        for path in [home, home + "/spool"] {
            chown(path, UInt32.max, 65534)
            chmod(path, 0o2750)
        }
        let output = try #require(try runAsNobody(["inbox", "--home", home]))
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("Nothing yet"))
        // keys/ stays private: the operator never reads it.
        var info = stat()
        #expect(stat(home + "/keys", &info) == 0 && info.st_mode & 0o777 == 0o700)
    }
}
