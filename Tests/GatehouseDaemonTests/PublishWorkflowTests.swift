import Foundation
import Glibc
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

/// `[publish]` and `[workflows.NAME] folder` together: the publish folder replaces
/// `spool/received/` as the default, a workflow's own folder still wins, and both get the
/// publish group and modes (staff read every published pack, never anything else).
@Suite("Publishing: a workflow's folder with the [publish] group")
struct PublishWorkflowTests {
    let record = Array("<record nhs=\"9990000018\">Ada Testperson</record>".utf8)

    /// A missing path reads as mode 0, group 0: it fails every expectation.
    func mode(_ path: String) -> (mode: mode_t, group: gid_t) { modeAndGroup(path) ?? (0, 0) }

    @Test func workflowFolderAndPublishFolderBothCarryTheGroup() async throws {
        let outside = try TemporaryDirectory()
        let gid = publishingTestGroup()
        let access = PublishAccess.readable(by: gid)
        let root = outside.appending("published"), reception = outside.appending("reception")
        try access.makeFolder(root)
        try PublishAccess.private.makeFolder(root + "/" + PublishTarget.stagingName)
        var settings = DaemonSettings()
        settings.publish = PublishTarget(root: root, staging: root + "/" + PublishTarget.stagingName, access: access)
        settings.workflows.folders[try Workflow("reception-summary")] = reception
        let g = try TwoGateways(settings: settings)
        // Made at start with the group's access, not private.
        #expect(mode(reception) == (0o750, gid))

        let pack = try g.pack("reception", [("summary.xml", record)], sidecar: "workflow = \"reception-summary\"\n")
        guard case .claimed(let packID) = await g.claimPack(pack) else { Issue.record("pack not claimed"); return }
        guard case .claimed(let fileID) = try await g.drop("letter.txt", Array("a letter".utf8)) else {
            Issue.record("file not claimed"); return
        }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 2)

        // The workflow's own folder, with the group's modes on sender folder, pack and files.
        let inWorkflow = "\(reception)/A81001/\(packID)"
        #expect(mode("\(reception)/A81001") == (0o750, gid))
        #expect(mode(inWorkflow) == (0o750, gid))
        #expect(mode("\(inWorkflow)/summary.xml") == (0o640, gid))
        // The default workflow: the publish folder, not spool/received/.
        let inPublish = "\(root)/A81001/\(fileID)"
        #expect(mode(inPublish) == (0o750, gid))
        #expect(mode("\(inPublish)/letter.txt") == (0o640, gid))
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001").isEmpty)
        let journal = try SQLiteJournal(path: g.prisonHome.path + "/journal.sqlite")
        let paths = try journal.incoming(matching: IncomingFilter()).map(\.record.publishedPath)
        #expect(Set(paths) == [inWorkflow, inPublish])
        // Nothing is left half-staged where the group could look.
        #expect(FileOperations.listFolder(root + "/" + PublishTarget.stagingName) == [])
    }
}
