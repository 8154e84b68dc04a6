import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

@Suite("Audit log: hash chain and signed checkpoints")
struct AuditLogTests {
    let folder: TemporaryDirectory
    let log: AuditLog
    static func key() -> SigningSecretKey { try! SigningSecretKey(seed: TestOrganisation.testSeed("audit-signing")) }
    var keys: [KeyID: SigningPublicKey] { [KeyID(signing: Self.key().publicKey): Self.key().publicKey] }

    init() throws {
        folder = try TemporaryDirectory()
        log = AuditLog(home: GatehouseHome(path: folder.path))
    }

    /// 250 events (checkpoints after the 100th and 200th) and a final checkpoint.
    func fill() throws {
        for i in 0..<250 {
            try log.append(AuditEvent("bundle-sealed", org: "YOI123", bundle: String(format: "%032x", i), sha256: String(repeating: "a", count: 64))) { () throws(KitError) in
                Self.key()
            }
        }
        try log.checkpoint(with: Self.key())
    }

    var lines: [String] {
        get { (try? String(contentsOfFile: log.path, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? [] }
    }

    func write(_ lines: [String]) throws {
        try (lines.joined(separator: "\n") + "\n").write(toFile: log.path, atomically: true, encoding: .utf8)
    }

    /// A detail is cut at 200 Unicode scalars: as 200 Characters, one letter with a thousand
    /// combining marks kept them all.
    @Test func aDetailIsBoundedInScalarsNotCharacters() {
        let long = AuditEvent("x", detail: "e" + String(repeating: "\u{301}", count: 1000))
        #expect(long.detail?.unicodeScalars.count == 200)
        #expect(AuditEvent("x", detail: "version 3").detail == "version 3")
    }

    /// A group commit (several events, one sync) writes the same chain as one append each: 250
    /// events in groups of 1, 7 and 120 (crossing checkpoint boundaries inside a group) verify,
    /// with checkpoints after the 100th and 200th event as before, and one sequence throughout.
    @Test func eventsAppendedInGroupsChainAndCheckpointAsOneByOne() throws {
        var written = 0
        for size in [1, 7, 120, 122] {
            let group = (written..<written + size).map {
                AuditEvent("web-view", bundle: String(format: "%032x", $0), detail: "page=inbox")
            }
            try log.append(group) { () throws(KitError) in Self.key() }
            written += size
        }
        try log.checkpoint(with: Self.key())
        let result = log.verify(keys: keys)
        #expect(result.isIntact, "\(result.problems)")
        #expect(result.entries == 253 && result.checkpoints == 3)
        let entries = try log.entries()
        #expect(entries.map(\.seq) == Array(1...253))
        #expect(entries.filter { $0.event == "checkpoint" }.map(\.seq) == [101, 201, 253])
        try log.append([]) { () throws(KitError) in Self.key() }
        #expect(try log.entries().count == 253)
    }

    @Test func anUntouchedLogVerifies() throws {
        try fill()
        let result = log.verify(keys: keys)
        #expect(result.isIntact, "\(result.problems)")
        #expect(result.entries == 253 && result.checkpoints == 3)
        #expect(try log.entries().filter { $0.event == "bundle-sealed" }.count == 250)
    }

    @Test(arguments: ["edit", "delete", "reorder", "insert", "truncate", "truncate-before-checkpoint", "blank-line", "anchor-rewritten"])
    func tamperingIsDetected(how: String) throws {
        try fill()
        var lines = self.lines
        switch how {
        case "edit": lines[40] = lines[40].replacingOccurrences(of: "YOI123", with: "YOI124")
        case "delete": lines.remove(at: 40)
        case "reorder": lines.swapAt(40, 41)
        case "insert": lines.insert(lines[40], at: 41)
        case "blank-line": lines.insert("", at: 41)
        case "anchor-rewritten":
            // A checkpoint anchor naming a position that cannot exist is a finding, not a crash.
            try lines.last!.replacingOccurrences(of: "\"seq\":253", with: "\"seq\":0").appending("\n")
                .write(toFile: log.anchorPath, atomically: true, encoding: .utf8)
        case "truncate": lines.removeLast(30)
        case "truncate-before-checkpoint": lines.removeLast(1)
        default: Issue.record("unknown case")
        }
        try write(lines)
        let result = log.verify(keys: keys)
        #expect(!result.isIntact, "\(how) went unnoticed")
    }

    /// Each checkpoint's signature is checked on its own: against another key every one fails,
    /// and with no key for its id every one is reported (the chain alone is intact here).
    @Test func checkpointSignaturesAreChecked() throws {
        try fill()
        let id = KeyID(signing: Self.key().publicKey)
        let forged = log.verify(keys: [id: SigningSecretKey.generate().publicKey])
        #expect(forged.problems.count == 3 && forged.problems.allSatisfy { $0.contains("does not verify") }, "\(forged.problems)")
        let unknown = log.verify(keys: [:])
        #expect(unknown.problems.count == 3 && unknown.problems.allSatisfy { $0.contains("unknown key") }, "\(unknown.problems)")
    }
}
