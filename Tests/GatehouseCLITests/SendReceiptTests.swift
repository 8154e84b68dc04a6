import Foundation
import Glibc
import GatehouseTesting
import Testing

/// `gatehouse send` and `gatehouse receipt show`, through the built binary, with real daemons
/// for the waiting and the receipts.
@Suite("gatehouse send and receipt show", .serialized)
struct SendReceiptTests {
    func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    func outbox(_ pair: DaemonPair) -> [String] { pair.listing(pair.practice + "/spool/outbox/YOI123") }

    @Test func sendRefusesWhatCannotBeSentAndLeavesNothing() throws {
        let pair = try DaemonPair()
        let good = pair.folder.appending("summary.xml")
        try write(Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8), to: good)
        let folder = pair.folder.appending("exports")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let partial = pair.folder.appending("letter.pdf.part")
        try write([1, 2, 3], to: partial)
        let cases: [(arguments: [String], status: Int32, message: String)] = [
            (["send", good, "--to", "XHM01"], 11, "XHM01"),
            // The gateway would refuse them at the claim (a bundle to oneself comes back reflected).
            (["send", good, "--to", "A81001"], 12, "A81001 is this organisation itself"),
            (["send", good, folder, "--to", "YOI123"], 12, "is a folder"),
            (["send", good, "--to", "YOI123", pair.folder.appending("missing.txt")], 12, "No such file"),
            (["send", good, partial, "--to", "YOI123"], 12, ".part"),
            (["send", good, good, "--to", "YOI123"], 12, "two files are named"),
            (["send", good, "--to", "not a code"], 64, "ODS"),
            (["send", good, "--to", "YOI123", "--timeout", "5m"], 64, "--wait"),
        ]
        for (arguments, status, message) in cases {
            let result = try GatehouseProcess.run(arguments + ["--home", pair.practice])
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(outbox(pair).isEmpty, "\(arguments) left \(outbox(pair))")
        }
        #expect(!FileManager.default.fileExists(atPath: pair.practice + "/spool/outbox/A81001"))
        // An unsafe name: a control character could never be published.
        let unsafe = pair.folder.appending("line\u{1}break.txt")
        try write([1], to: unsafe)
        let refused = try GatehouseProcess.run(["send", unsafe, "--to", "YOI123", "--home", pair.practice])
        #expect(refused.status == 12 && refused.stderr.contains("control character"), "\(refused.stderr)")
        // Sent, two files wait as one pack folder with its .gatehouse.toml, renamed in whole (so the
        // gateway can never take the first before the second is there); nothing partial is left.
        let sent = try GatehouseProcess.run(["send", good, try partialFree(pair), "--to", "YOI123", "--home", pair.practice,
                                             "--subject", "Reception \"A\" \\ B", "--nhs-number", "999 000 0018"])
        #expect(sent.status == 0 && sent.stdout.contains("queued 2 files for YOI123 as one pack"), "\(sent.stderr)")
        let packs = outbox(pair)
        #expect(packs.count == 1 && packs.allSatisfy { $0.hasPrefix("send-") }, "\(packs)")
        let pack = pair.practice + "/spool/outbox/YOI123/\(packs.first ?? "")"
        #expect(pair.listing(pack) == [".gatehouse.toml", "meds.csv", "summary.xml"])
        #expect(FileManager.default.contents(atPath: pack + "/summary.xml") == FileManager.default.contents(atPath: good))
        let sidecar = try String(contentsOfFile: pack + "/.gatehouse.toml", encoding: .utf8)
        #expect(sidecar.hasSuffix("subject = \"Reception \\\"A\\\" \\\\ B\"\nworkflow = \"other\"\nnhs_numbers = [\"9990000018\"]\n"),
                "\(sidecar)")
        // No gateway running: --wait says so once the time is up, and the file stays queued.
        let waited = try GatehouseProcess.run(["send", partialFree(pair), "--to", "YOI123", "--home", pair.practice, "--wait", "--timeout", "1s"])
        #expect(waited.status == 15, "\(waited.stderr)")
        #expect(waited.stderr.contains("no running gateway claimed") && waited.stderr.contains("no gateway has ever run"), "\(waited.stderr)")
        let unknown = try GatehouseProcess.run(["receipt", "show", "00112233445566778899aabbccddeeff", "--home", pair.practice])
        #expect(unknown.status == 12 && unknown.stderr.contains("no outgoing bundle"), "\(unknown.stderr)")
        let malformed = try GatehouseProcess.run(["receipt", "show", "nonsense", "--home", pair.practice])
        #expect(malformed.status == 12 && malformed.stderr.contains("not a bundle id"), "\(malformed.stderr)")
    }

    /// A second file, for the wait that has no gateway to wait for.
    func partialFree(_ pair: DaemonPair) throws -> String {
        let path = pair.folder.appending("meds.csv")
        try write(Array("drug,dose\n".utf8), to: path)
        return path
    }

    @Test func sendWaitPrintsTheVerifiedReceiptAndReceiptShowChecksItAgain() throws {
        let pair = try DaemonPair()
        // Only the practice runs at first: the bundle is delivered but not acknowledged.
        pair.daemons[pair.practice] = try DaemonProcess(home: pair.practice)
        let first = pair.folder.appending("summary.xml")
        try write(Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8), to: first)
        let early = try GatehouseProcess.run(["send", first, "--to", "YOI123", "--home", pair.practice, "--wait", "--timeout", "3s"])
        #expect(early.status == 15 && early.stderr.contains("is still"), "\(early.stderr)")
        let id = try #require(pair.status(pair.practice).first?["bundle_id"] as? String)
        let pending = try GatehouseProcess.run(["receipt", "show", id, "--home", pair.practice])
        #expect(pending.status == 15 && pending.stderr.contains("has no receipt yet"), "\(pending.stderr)")

        pair.daemons[pair.prison] = try DaemonProcess(home: pair.prison)
        let second = pair.folder.appending("discharge letter.pdf")
        let letter = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
        try write(letter, to: second)
        let waited = try GatehouseProcess.run(["send", second, "--to", "YOI123", "--home", pair.practice, "--wait", "--timeout", "60s"])
        #expect(waited.status == 0, "\(waited.stderr)\n\(pair.daemons[pair.practice]!.logText)")
        #expect(waited.stdout.contains("verified") && waited.stdout.contains("discharge letter.pdf, 70000 bytes, sha256 "), "\(waited.stdout)")
        #expect(waited.stdout.contains("HMP Northgate Healthcare") && waited.stdout.contains("exactly as sent"), "\(waited.stdout)")
        #expect(!waited.stderr.contains("\r"), "no progress bar in captured output")

        #expect(eventually { pair.status(pair.practice).allSatisfy { $0["state"] as? String == "acknowledged" } })
        let shown = try GatehouseProcess.run(["receipt", "show", id, "--home", pair.practice])
        #expect(shown.status == 0 && shown.stdout.contains("Receipt for bundle \(id): verified"), "\(shown.stdout)\(shown.stderr)")
        #expect(shown.stdout.contains("summary.xml, 50 bytes, sha256 "), "\(shown.stdout)")
        let json = try GatehouseProcess.run(["receipt", "show", id, "--json", "--home", pair.practice])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["verdict"] as? String == "verified" && document["disposition"] as? String == "processed")
        #expect(document["bundle_matches"] as? Bool == true && document["partner"] as? String == "YOI123")

        // The stored receipt altered in the journal (one bit of its signature) no longer verifies.
        pair.daemons[pair.practice]!.stop()
        let journal = pair.practice + "/spool/journal.sqlite"
        let tamper = try GatehouseProcess.runProgram("/usr/bin/env", ["python3", "-c", """
            import json, sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            (receipt,) = db.execute("SELECT receipt FROM outgoing WHERE bundleID = ?", (sys.argv[2],)).fetchone()
            # The journal keeps the receipt as a JSON array of bytes.
            values = json.loads(receipt); values[-1] ^= 1
            db.execute("UPDATE outgoing SET receipt = ? WHERE bundleID = ?", (json.dumps(values), sys.argv[2])); db.commit()
            """, journal, id])
        #expect(tamper.status == 0, "\(tamper.stderr)")
        let tampered = try GatehouseProcess.run(["receipt", "show", id, "--home", pair.practice])
        #expect(tampered.status == 5, "\(tampered.stdout)\(tampered.stderr)")
        #expect(tampered.stderr.contains("does NOT verify") && !tampered.stdout.contains("verified"), "\(tampered.stderr)")
    }
}
