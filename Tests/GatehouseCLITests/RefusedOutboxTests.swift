import Foundation
import Glibc
import GatehouseTesting
import Testing

/// Files the gateway refuses at the outbox are shown by `status`; `send` never leaves a copy the
/// gateway cannot read.
@Suite("Refused outbox files reach someone", .serialized)
struct RefusedOutboxTests {
    /// Root with setpriv: the copy can be read back as the home's owner.
    static let canSwitchUser = geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0

    @Test func aFileForAnUnknownPartnerIsListedByStatusWithItsReason() throws {
        let pair = try DaemonPair()
        try pair.start()
        let outbox = pair.practice + "/spool/outbox/ZZZ999"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        // A bidirectional override in the name: the text form must not let it reorder the line.
        let hostile = "summary\u{202E}lmx.txt"
        for name in ["summary.xml", hostile] {
            #expect(FileManager.default.createFile(atPath: "\(outbox)/\(name)", contents: Data("<summary/>".utf8)))
        }
        let failed = pair.practice + "/spool/failed"
        #expect(eventually { pair.listing(failed).count == 2 }, "\(pair.daemons[pair.practice]!.logText)")

        let text = try GatehouseProcess.run(["status", "--home", pair.practice])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("2 files or packs refused at the outbox, never sent"), "\(text.stdout)")
        let row = text.stdout.split(separator: "\n").first { $0.contains("summary.xml") } ?? ""
        #expect(row.contains("ZZZ999"), "\(text.stdout)")
        #expect(!text.stdout.unicodeScalars.contains("\u{202E}"), "\(text.stdout)")

        let out = try GatehouseProcess.run(["status", "--home", pair.practice, "--refused", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let refused = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]])
        #expect(Set(refused.compactMap { ($0["files"] as? [String])?.first }) == ["summary.xml", hostile], "\(refused)")
        for entry in refused {
            #expect(Set(entry.keys) == ["folder", "refused_at", "files", "reason"], "\(entry)")
            #expect((entry["reason"] as? String)?.contains("for ZZZ999") == true, "\(entry)")
            #expect(pair.listing(failed).contains(entry["folder"] as? String ?? ""))
        }
        // The bundle list keeps its documented shape.
        #expect(pair.status(pair.practice).isEmpty)
    }

    /// A pinned practice home owned by `nobody` (as gatehouse owns /var/lib/gatehouse), and a
    /// file to send.
    func nobodysHome() throws -> (pair: DaemonPair, record: String) {
        let pair = try DaemonPair()
        let record = pair.folder.appending("summary.xml")
        #expect(FileManager.default.createFile(atPath: record, contents: Data("<summary nhs=\"9990000018\"/>".utf8)))
        try FileManager.default.createDirectory(atPath: pair.practice + "/spool/outbox", withIntermediateDirectories: true)
        let home = pair.practice
        for path in [home] + (FileManager.default.subpaths(atPath: home) ?? []).map({ home + "/" + $0 }) {
            #expect(lchown(path, 65534, 65534) == 0)
        }
        #expect(chmod(pair.folder.path, 0o755) == 0)
        return (pair, record)
    }

    @Test(.enabled(if: canSwitchUser, "needs root and /usr/bin/setpriv to read the copy as the home's owner"))
    func sendAsRootLeavesACopyTheHomesOwnerCanRead() throws {
        let (pair, record) = try nobodysHome()
        let sent = try GatehouseProcess.run(["send", record, "--to", "YOI123", "--home", pair.practice])
        #expect(sent.status == 0, "\(sent.stderr)")
        let outbox = pair.practice + "/spool/outbox/YOI123"
        let packs = pair.listing(outbox)
        try #require(packs.count == 1, "\(packs)")
        let pack = "\(outbox)/\(packs[0])"
        for path in [outbox, pack] + pair.listing(pack).map({ "\(pack)/\($0)" }) {
            var info = stat()
            #expect(lstat(path, &info) == 0 && info.st_uid == 65534 && info.st_gid == 65534,
                    "\(path): \(info.st_uid)")
        }
        let read = try GatehouseProcess.runProgram("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                                         "/bin/cat", "\(pack)/summary.xml"])
        #expect(read.status == 0 && read.stdout == "<summary nhs=\"9990000018\"/>", "\(read.stderr)")
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to leave a root-owned folder in a home owned by another user"))
    func sendRefusesAnOutboxFolderTheGatewayCannotRead() throws {
        let (pair, record) = try nobodysHome()
        // Left behind by an earlier `send` run as root: the gateway (nobody) cannot list it.
        let outbox = pair.practice + "/spool/outbox/YOI123"
        #expect(chown(outbox, 0, 0) == 0)
        let sent = try GatehouseProcess.run(["send", record, "--to", "YOI123", "--home", pair.practice])
        #expect(sent.status == 13, "\(sent.stdout) \(sent.stderr)")
        #expect(sent.stderr.contains("belongs to root, not to the gateway's user nobody"), "\(sent.stderr)")
        #expect(sent.stderr.contains("gatehouse: hint: give it back: `chown -R nobody: "), "\(sent.stderr)")
        #expect(pair.listing(outbox).isEmpty)
    }
}
