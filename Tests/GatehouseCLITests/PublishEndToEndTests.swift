import Foundation
import Glibc
import GatehouseTesting
import Testing

/// Issue 14, section 2, end to end: with `[publish]`, the prison's daemon publishes what it
/// receives into a folder outside its home, every file 0640 and folder 0750 of the staff group,
/// already so when the bundle's folder first appears (it appears by one rename).
@Suite("Publishing for staff, end to end", .serialized)
struct PublishEndToEndTests {

    @Test func receivedRecordsAppearReadableByTheStaffGroupAndNowhereElse() throws {
        let gid = publishingTestGroup()
        let group = (gid: gid, name: try #require(groupName(gid)))
        let pair = try DaemonPair()
        let published = pair.folder.appending("published")
        var config = try String(contentsOfFile: pair.prison + "/gatehouse.toml", encoding: .utf8)
        config += "\n[publish]\nfolder = \"\(published)\"\ngroup = \"\(group.name)\"\n"
        try config.write(toFile: pair.prison + "/gatehouse.toml", atomically: true, encoding: .utf8)
        let old = umask(0o077)  // as under the systemd unit: the modes must not depend on it
        defer { umask(old) }
        try pair.start()
        try pair.drop("summary.xml", Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8), from: pair.practice, to: "YOI123")
        // Watch for the bundle's folder and judge it the moment it is seen.
        var seen: String?
        let appeared = eventually(timeout: 30) {
            seen = pair.listing(published + "/A81001").first
            return seen != nil
        }
        #expect(appeared, "\(pair.daemons[pair.prison]?.logText ?? "")")
        let bundle = "\(published)/A81001/\(try #require(seen))"
        let folder = try #require(modeAndGroup(bundle))
        #expect(folder == (0o750, group.gid), "\(folder)")
        for name in pair.listing(bundle) {
            let file = try #require(modeAndGroup("\(bundle)/\(name)"))
            #expect(file == (0o640, group.gid), "\(name): \(file)")
        }
        #expect(modeAndGroup(published + "/A81001")! == (0o750, group.gid))
        #expect(pair.listing(published).filter { !$0.hasPrefix(".") } == ["A81001"])
        #expect(FileManager.default.fileExists(atPath: "\(bundle)/summary.xml"))
        // Nothing in the private spool/received, nothing left in staging, and the sender is told.
        #expect(pair.listing(pair.prison + "/spool/received/A81001").isEmpty)
        #expect(pair.listing(published + "/.gatehouse-staging").isEmpty)
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] }, "\(pair.status(pair.practice))")
        for daemon in pair.daemons.values { #expect(daemon.stop() == 0) }
    }
}
