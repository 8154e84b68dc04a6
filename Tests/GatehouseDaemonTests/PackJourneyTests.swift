import Foundation
import Glibc
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

/// A pack from the outbox to the receiver's folder and back as a receipt: sealed whole with its
/// context, published as one folder (in its workflow's folder when one is set), kept whole in
/// sent/ or failed/; and what an insider who kept a way into the pack folder can do after the
/// claim (nothing).
@Suite("Packs: sealed whole, published as one folder")
struct PackJourneyTests {
    let record = Array("<record nhs=\"9990000018\">Ada Testperson</record>".utf8)
    let sidecar = """
        subject = "Reception: Ada Testperson"
        workflow = "reception-summary"
        nhs_numbers = ["9990000018"]

        """

    func journal(_ home: GatehouseHome) throws -> Journal { try SQLiteJournal(path: home.path + "/journal.sqlite") }

    @Test func aPackTravelsWholeWithItsContextAndIsKeptWhole() async throws {
        var settings = DaemonSettings()
        settings.workflows.folders[try Workflow("reception-summary")] = "reception"
        let g = try TwoGateways(settings: settings)
        let files = [("summary.xml", record), ("meds.csv", Array("drug,dose\n".utf8)), ("empty.txt", [])]
        guard case .claimed(let id) = await g.claimPack(try g.pack("reception", files, sidecar: sidecar)) else {
            Issue.record("not claimed"); return
        }
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(await g.prison.collect() == 1)
        // Published as one folder, in the workflow's own folder, with the verified context.
        let published = g.prisonHome.path + "/reception/A81001/\(id)"
        #expect(g.list(published)
                == [".gatehouse-manifest.ghm", ".gatehouse-manifest.json", "empty.txt", "meds.csv", "summary.xml"])
        #expect(g.list(g.prisonHome.path + "/spool/received/A81001").isEmpty)
        let document = String(decoding: g.read("\(published)/.gatehouse-manifest.json") ?? [], as: UTF8.self)
        #expect(document.contains(#""workflow" : "reception-summary""#) && document.contains(#""nhs_numbers" : ["#),
                "\(document)")
        var filter = IncomingFilter()
        filter.nhsNumber = "9990000018"
        let found = try journal(g.prisonHome).incoming(matching: filter)
        #expect(found.map(\.record.bundleID) == [id] && found.first?.record.publishedPath == published)
        #expect(found.first?.pack?.context.subject == "Reception: Ada Testperson")
        filter.workflow = try Workflow("gp-record")
        #expect(try journal(g.prisonHome).incoming(matching: filter).isEmpty)
        // The receipt comes back: the pack is kept whole in sent/, description included.
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .acknowledged)
        #expect(g.list(g.practiceHome.path + "/spool/sent/\(id)/reception")
                == [".gatehouse.toml", "empty.txt", "meds.csv", "summary.xml"])
        #expect(g.list(g.practiceHome.path + "/spool/work/out").isEmpty)
    }

    @Test func filesDroppedAloneGoInTheDefaultWorkflow() async throws {
        var settings = DaemonSettings()
        settings.workflows.defaultWorkflow = try Workflow("gp-record")
        let g = try TwoGateways(settings: settings)
        guard case .claimed(let id) = try await g.drop("summary.xml", record) else {
            Issue.record("not claimed")
            return
        }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        let found = try journal(g.prisonHome).incoming(matching: IncomingFilter())
        #expect(found.first?.record.bundleID == id && found.first?.pack?.context.workflow.value == "gp-record")
        #expect(found.first?.record.publishedPath == g.prisonHome.path + "/spool/received/A81001/\(id)")
    }

    @Test func aFileSwappedForALinkAfterTheClaimFailsTheWholePack() async throws {
        let g = try TwoGateways()
        let path = try g.pack("export", [("a.xml", record), ("b.xml", record)])
        // The producer keeps a way into its folder (a descriptor, a working directory).
        let kept = open(path, O_RDONLY | O_DIRECTORY)
        defer { close(kept) }
        guard case .claimed(let id) = await g.claimPack(path) else { Issue.record("not claimed"); return }
        let keys = g.practiceHome.path + "/keys"
        let key = keys + "/" + g.list(keys).first { $0.hasPrefix("signing-") }!
        #expect(unlinkat(kept, "b.xml", 0) == 0 && symlinkat(key, kept, "b.xml") == 0)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .failed)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        let failed = g.practiceHome.path + "/spool/failed/\(id)"
        let reason = String(decoding: g.read("\(failed)/reason.txt") ?? [], as: UTF8.self)
        #expect(reason.contains("the pack \"export\" travels whole") && reason.contains("symbolic link"), "\(reason)")
        // Back whole: the good file too, not sent alone.
        #expect(g.list("\(failed)/export") == ["a.xml", "b.xml"])
    }

    @Test func aPackFolderSwappedForALinkAfterTheClaimSendsNothing() async throws {
        let g = try TwoGateways()
        guard case .claimed(let id) = await g.claimPack(try g.pack("export", [("summary.xml", record)])) else {
            Issue.record("not claimed"); return
        }
        // The work folder becomes a link to the keys folder, which holds a file of the same name.
        let work = g.practiceHome.path + "/spool/work/out/\(id)"
        let decoy = g.folder.appending("decoy")
        try FileManager.default.createDirectory(atPath: decoy, withIntermediateDirectories: true)
        try writeClosed(Array("secret".utf8), to: decoy + "/summary.xml")
        #expect(rename(work, g.folder.appending("moved")) == 0 && symlink(decoy, work) == 0)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .failed)
        #expect(g.list(g.mailboxRoot + "/YOI123").isEmpty)
        #expect(g.read(decoy + "/summary.xml") == Array("secret".utf8))
    }

    @Test func deletingAnAcknowledgedPackFollowsNoLinkItsProducerAddedLater() async throws {
        var settings = DaemonSettings()
        settings.keepSent = false
        let g = try TwoGateways(settings: settings)
        let path = try g.pack("export", [("summary.xml", record)])
        let kept = open(path, O_RDONLY | O_DIRECTORY)
        defer { close(kept) }
        guard case .claimed(let id) = await g.claimPack(path) else { Issue.record("not claimed"); return }
        _ = await g.practice.processOutgoing()
        #expect(await g.prison.collect() == 1)
        // Before the receipt: a link to a folder of someone else's files, inside the pack.
        let elsewhere = g.folder.appending("elsewhere")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        try writeClosed(record, to: elsewhere + "/keep-me.xml")
        #expect(symlinkat(elsewhere, kept, "scans") == 0)
        #expect(await g.practice.collect() == 1)
        #expect(try g.state(id) == .acknowledged)
        #expect(g.list(g.practiceHome.path + "/spool/work/out").isEmpty)
        #expect(g.list(elsewhere) == ["keep-me.xml"])
    }

    @Test func aPackClaimInterruptedByACrashIsFinishedAtStart() async throws {
        let g = try TwoGateways()
        let path = try g.pack("export", [("summary.xml", record)], sidecar: sidecar)
        // Journalled, then the crash, before the rename.
        let id = TestID.bundle("00112233445566778899aabbccddeeff")
        let work = g.practiceHome.path + "/spool/work/out/\(id)"
        try journal(g.practiceHome).insert([NewOutgoing(
            record: OutgoingRecord(bundleID: id, partner: TestID.ods("YOI123"), createdAt: g.clock.now(),
                                   expiresAt: g.clock.now() + 86_400_000),
            files: [OutgoingFile(bundleID: id, position: 0, name: "summary.xml", size: Int64(record.count),
                                 sourcePath: "\(path)/summary.xml", workPath: "\(work)/summary.xml")],
            context: PackContext(workflow: try Workflow("reception-summary")), pack: "export")])
        try await g.practice.recover()
        #expect(g.list(g.practiceHome.path + "/spool/outbox/YOI123").isEmpty)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .delivered)
        #expect(await g.prison.collect() == 1)
        let found = try journal(g.prisonHome).incoming(matching: IncomingFilter())
        #expect(found.first?.pack?.context.workflow.value == "reception-summary")
    }

    @Test func anExpiredPackGoesBackWholeReadyToDropAgain() async throws {
        let g = try TwoGateways()
        let path = try g.pack("export", [("a.xml", record), ("b.xml", record)], sidecar: sidecar)
        guard case .claimed(let id) = await g.claimPack(path) else {
            Issue.record("not claimed"); return
        }
        _ = await g.practice.processOutgoing()
        g.clock.advance(by: 25 * 3_600_000)
        _ = await g.practice.processOutgoing()
        #expect(try g.state(id) == .expired)
        let failed = g.practiceHome.path + "/spool/failed/\(id)"
        #expect(g.list(failed) == ["export", "reason.txt"])
        #expect(g.list("\(failed)/export") == [".gatehouse.toml", "a.xml", "b.xml"])
    }
}
