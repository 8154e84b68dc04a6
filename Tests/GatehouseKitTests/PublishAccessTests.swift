import Glibc
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

@Suite("Publishing readable by a staff group")
struct PublishAccessTests {
    /// A missing path reads as mode 0, group 0: it fails every expectation.
    func mode(_ path: String) -> (mode: mode_t, group: gid_t) { modeAndGroup(path) ?? (0, 0) }

    @Test func stagedFilesAndFolderCarryTheGroupAndModesBeforeTheRename() throws {
        let folder = try TemporaryDirectory()
        let gid = publishingTestGroup()
        // The umask of the unit (0077) would strip the group's bits from a plain creation mode.
        let old = umask(0o077)
        defer { umask(old) }
        let staging = folder.appending("staging")
        try PublishAccess.private.makeFolder(staging)
        let publisher = try StagedPublisher(destination: folder.appending("published"), stagingParent: staging,
                                            access: .readable(by: gid))
        try publisher.beginFile(FileTableEntry(name: "summary.xml", size: 3), index: 0)
        // Still in the private staging folder: already the final group and mode.
        let temporary = try #require(FileOperations.listFolder(publisher.staging)?.first)
        #expect(mode("\(publisher.staging)/\(temporary)") == (0o640, gid))
        try [UInt8]("abc".utf8).withUnsafeBytes { try publisher.write($0) }
        try publisher.endFile()
        try publisher.addFile(named: StagedPublisher.manifestJSONName, contents: Array("{}".utf8))
        #expect(mode(publisher.staging) == (0o750, gid))
        try publisher.publish()
        let published = folder.appending("published")
        #expect(mode(published) == (0o750, gid))
        #expect(mode(published + "/summary.xml") == (0o640, gid))
        #expect(mode(published + "/" + StagedPublisher.manifestJSONName) == (0o640, gid))
    }

    @Test func privateAccessKeepsTheOldModes() throws {
        let folder = try TemporaryDirectory()
        let publisher = try StagedPublisher(destination: folder.appending("out"))
        try publisher.addFile(named: StagedPublisher.manifestJSONName, contents: Array("{}".utf8))
        try publisher.publish()
        #expect(mode(folder.appending("out")).mode == 0o700)
        #expect(mode(folder.appending("out/") + StagedPublisher.manifestJSONName).mode == 0o600)
    }

    @Test func targetMakesItsFoldersWithTheGroupAndAPrivateStagingFolder() throws {
        let folder = try TemporaryDirectory()
        let gid = publishingTestGroup()
        var group = group(), result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        try #require(getgrgid_r(gid, &group, &buffer, buffer.count, &result) == 0 && result != nil)
        let old = umask(0o077)
        defer { umask(old) }
        let target = try PublishTarget(settings: PublishSettings(folder: folder.appending("published"),
                                                                 group: String(cString: group.gr_name)))
        #expect(mode(target.root) == (0o750, gid))
        #expect(mode(target.staging).mode == 0o700)
        try target.prepareSenderFolder("A81001")
        #expect(mode(target.root + "/A81001") == (0o750, gid))
        // Nothing is left behind in staging, and a second call keeps the folder.
        #expect(FileOperations.listFolder(target.staging) == [])
        try target.prepareSenderFolder("A81001")
    }

    @Test func anUnknownGroupIsRefusedByName() throws {
        let folder = try TemporaryDirectory()
        #expect(throws: KitError.self) {
            try PublishTarget(settings: PublishSettings(folder: folder.appending("p"), group: "no-such-group-gatehouse"))
        }
    }

    @Test func configNeedsBothFolderAndGroup() throws {
        let config = try GatehouseConfig.parse("[publish]\nfolder = \"/srv/gatehouse/published\"\ngroup = \"healthcare\"\n")
        #expect(config.publish == PublishSettings(folder: "/srv/gatehouse/published", group: "healthcare"))
        #expect(throws: KitError.self) { try GatehouseConfig.parse("[publish]\nfolder = \"/srv/p\"\n") }
        #expect(throws: KitError.self) { try GatehouseConfig.parse("[publish]\nfolder = \"relative\"\ngroup = \"g\"\n") }
    }
}
