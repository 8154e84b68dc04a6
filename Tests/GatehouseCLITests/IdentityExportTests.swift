import Foundation
import Glibc
import GatehouseTesting
import Testing

/// `identity export -o` run as the service user from a folder it cannot write (an
/// administrator's own folder): the temporary file may go only beside the target, so a target
/// there fails saying why; anywhere it may write, and standard output, work.
@Suite("gatehouse identity export -o from a folder the service user cannot write")
struct IdentityExportTests {
    let folder: TemporaryDirectory
    let home: String
    let locked: String
    /// As root the command runs as nobody (the service user's stand-in); otherwise as this user.
    let prefix: [String]

    init() throws {
        let folder = try TemporaryDirectory(), home = folder.appending("practice")
        let locked = folder.appending("administrator")
        (self.folder, self.home, self.locked) = (folder, home, locked)
        try GatehouseProcess.initialise(home)
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        if geteuid() == 0 {
            // nobody owns the home (as gatehouse owns /var/lib/gatehouse); root keeps the folder.
            for path in [home] + (FileManager.default.subpaths(atPath: home) ?? []).map({ home + "/" + $0 }) {
                #expect(chown(path, 65534, 65534) == 0)
            }
            #expect(chmod(folder.path, 0o755) == 0 && chmod(locked, 0o755) == 0)
            prefix = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                      try GatehouseProcess.binaryPath()]
        } else {
            #expect(chmod(locked, 0o555) == 0)
            prefix = [try GatehouseProcess.binaryPath()]
        }
    }

    /// Runs `identity export --home HOME ARGUMENTS` as the service user in the locked folder.
    func export(_ arguments: String...) throws -> ProcessOutput {
        try GatehouseProcess.runProgram(prefix[0], Array(prefix.dropFirst()) + ["identity", "export", "--home", home]
                                        + arguments, home: locked)
    }

    @Test func aTargetBesideWhichNothingCanBeWrittenFailsSayingWhy() throws {
        let refused = try export("-o", "A81001.card")
        #expect(refused.status == 13, "\(refused)")
        #expect(refused.stderr.hasPrefix("gatehouse: error: cannot create A81001.card: user ")
                && refused.stderr.contains(" may not write in the folder \(locked)\n")
                && refused.stderr.contains("`gatehouse identity export > A81001.card`")
                && !refused.stderr.contains(".tmp-"), "\(refused.stderr)")
        #expect((try FileManager.default.contentsOfDirectory(atPath: locked)).isEmpty)
    }

    @Test func standardOutputAndWritableFoldersWork() throws {
        let printed = try export("-o", "/dev/stdout")
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.hasPrefix("-----BEGIN GATEHOUSE IDENTITY CARD-----\n"), "\(printed.stdout)")
        #expect(printed.stderr.contains("Wrote the identity card of A81001 to /dev/stdout"), "\(printed.stderr)")

        let writable = folder.appending("outgoing")
        try FileManager.default.createDirectory(atPath: writable, withIntermediateDirectories: false)
        #expect(chmod(writable, 0o777) == 0)
        let written = try export("-o", writable + "/A81001.card")
        #expect(written.status == 0, "\(written.stderr)")
        let card = try String(contentsOfFile: writable + "/A81001.card", encoding: .utf8)
        #expect(card == printed.stdout)
        // Never over an existing file.
        #expect(try export("-o", writable + "/A81001.card").status == 12)
    }
}
