import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

@testable import GatehouseWeb

/// The web server's audit writer: events from many requests at once are all written, once
/// each, in one intact hash chain, and each caller hears of its own event only once it is synced.
@Suite struct AuditGroupCommitTests {
    @Test func concurrentEventsAreEachWrittenOnceInOneIntactChain() async throws {
        let folder = try TemporaryDirectory()
        let home = GatehouseHome(path: folder.appending("prison"))
        try FileManager.default.createDirectory(atPath: home.path, withIntermediateDirectories: true)
        _ = try KeyStore(home: home).initialise(org: try ODSCode("XHM01"), name: "HMP Northgate Healthcare")
        let audit = WebAudit(home: home)
        let results = await withTaskGroup(of: Bool.self) { group in
            for n in 0..<150 {
                group.addTask {
                    await audit.recordAsync("web-view", bundle: String(format: "%032x", n), detail: "page=pack")
                }
            }
            // And the blocking callers, through the same writer.
            for n in 150..<160 {
                group.addTask { audit.record("web-view", bundle: String(format: "%032x", n), detail: "page=pack") }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 160 && results.allSatisfy { $0 })
        let entries = try audit.log.entries()
        let bundles = entries.filter { $0.event == "web-view" }.compactMap(\.bundle)
        #expect(Set(bundles) == Set((0..<160).map { String(format: "%032x", $0) }) && bundles.count == 160)
        #expect(entries.filter { $0.event == "checkpoint" }.count == 1)  // after the 100th event
        let key = try KeyStore(home: home).loadSigningKey().publicKey
        let verification = audit.log.verify(keys: [KeyID(signing: key): key])
        #expect(verification.isIntact, "\(verification.problems)")
    }

    /// A log that cannot be written answers false to every caller of the group: no page is shown.
    @Test func aGroupThatCannotBeWrittenFailsEveryCaller() async throws {
        let folder = try TemporaryDirectory()
        let home = GatehouseHome(path: folder.appending("prison"))
        try FileManager.default.createDirectory(atPath: home.path + "/audit", withIntermediateDirectories: true)
        // A log that does not end with a whole line: appends refuse to chain onto it.
        try Data("{\"seq\":1".utf8).write(to: URL(fileURLWithPath: home.path + "/audit/audit.jsonl"))
        let audit = WebAudit(home: home)
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 { group.addTask { await audit.recordAsync("web-view", detail: "page=inbox") } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.count == 20 && results.allSatisfy { !$0 })
    }
}
