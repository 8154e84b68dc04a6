import Foundation
import Glibc
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// Packs through the built binary and two real daemons: a record set sent together is one
/// bundle and one receipt, published as one folder, found in `inbox` by its context.
@Suite("Packs end to end: send, drop, publish, inbox", .serialized)
struct PackEndToEndTests {
    func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    func gatehouse(_ arguments: [String]) throws -> ProcessOutput { try GatehouseProcess.run(arguments) }

    /// `inbox --json` with `filters`, as parsed JSON.
    func inbox(_ pair: DaemonPair, _ filters: [String] = []) throws -> [[String: Any]] {
        let out = try gatehouse(["inbox", "--home", pair.prison, "--json"] + filters)
        #expect(out.status == 0, "\(filters): \(out.stderr)")
        return (try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [[String: Any]] ?? []
    }

    /// The files in `folder`, without the dot-files Gatehouse adds.
    func records(_ pair: DaemonPair, _ folder: String) -> [String] {
        pair.listing(folder).filter { !$0.hasPrefix(".") }
    }

    @Test func aThreeFileReceptionPackIsOneBundleOneReceiptAndOneFolder() throws {
        let pair = try DaemonPair()
        try pair.start()
        let files: [(String, [UInt8])] = [
            ("summary.xml", Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8)),
            ("medications.csv", Array("drug,dose\nMetformin,500mg\n".utf8)),
            ("scan.pdf", (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }),
        ]
        for (name, bytes) in files { try write(bytes, to: pair.folder.appending(name)) }
        let sent = try gatehouse(["send"] + files.map { pair.folder.appending($0.0) } + [
            "--to", "YOI123", "--home", pair.practice, "--subject", "Reception: Ada Testperson",
            "--nhs-number", "999 000 0018", "--workflow", "reception-summary", "--wait", "--timeout", "60s"])
        #expect(sent.status == 0, "\(sent.stderr)\n\(pair.daemons[pair.practice]!.logText)")
        #expect(sent.stdout.contains("queued 3 files for YOI123 as one pack") && sent.stdout.contains("verified"),
                "\(sent.stdout)")
        // One bundle, three files, one receipt.
        let bundles = pair.status(pair.practice)
        #expect(bundles.count == 1 && bundles.first?["state"] as? String == "acknowledged", "\(bundles)")
        #expect((bundles.first?["files"] as? [[String: Any]])?.count == 3)
        let id = try #require(bundles.first?["bundle_id"] as? String)
        let events = try gatehouse(["audit", "show", "--home", pair.practice, "--since", "1h"])
        #expect(events.status == 0, "\(events.stderr)")
        #expect(events.stdout.components(separatedBy: "\treceipt-verified\t").count == 2, "\(events.stdout)")
        // Published as one folder.
        let received = pair.prison + "/spool/received/A81001"
        #expect(pair.listing(received) == [id])
        #expect(records(pair, "\(received)/\(id)") == files.map(\.0).sorted())
        // inbox shows who sent it and what it is about, from the verified manifest.
        let entries = try inbox(pair)
        let entry = try #require(entries.first)
        #expect(entries.count == 1 && entry["bundle_id"] as? String == id)
        #expect(entry["sender"] as? String == "A81001")
        #expect(entry["sender_name"] as? String == "Riverside Medical Practice")
        #expect(entry["subject"] as? String == "Reception: Ada Testperson")
        #expect(entry["workflow"] as? String == "reception-summary")
        #expect(entry["nhs_numbers"] as? [String] == ["9990000018"])
        let names = (entry["files"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(names?.sorted() == files.map(\.0).sorted())
        let text = try gatehouse(["inbox", "--home", pair.prison])
        for line in ["from A81001 (Riverside Medical Practice)", "workflow:    reception-summary",
                     "subject:     Reception: Ada Testperson", "NHS numbers: 999 000 0018", "folder:      \(received)/\(id)"] {
            #expect(text.stdout.contains(line), "\(line)\n\(text.stdout)")
        }

        // A second pack, of another kind and patient, so that each filter has something to leave out
        // (received in a later second than the first, for --since with a time).
        usleep(1_100_000)
        try write(Array("<record/>".utf8), to: pair.folder.appending("record.xml"))
        let other = try gatehouse(["send", pair.folder.appending("record.xml"), "--to", "YOI123",
                                   "--home", pair.practice, "--nhs-number", "9990000026", "--workflow", "gp-record",
                                   "--wait", "--timeout", "60s"])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(try inbox(pair).count == 2)
        func ids(_ filters: [String]) throws -> [String] {
            try inbox(pair, filters).compactMap { $0["bundle_id"] as? String }
        }
        #expect(try ids(["--nhs-number", "999 000 0018"]) == [id])
        #expect(try ids(["--nhs-number", "9990000034"]).isEmpty)
        #expect(try ids(["--workflow", "reception-summary", "--since", "2h"]) == [id])
        #expect(try ids(["--workflow", "gp-record", "--nhs-number", "9990000018"]).isEmpty)
        #expect(try ids(["--since", "1h"]).count == 2)
        // An absolute time: from just after the first pack arrived, only the second.
        let first = try #require(entry["received_at"] as? String)
        let after = try #require(RFC3339.parse(String(first.prefix(19)) + "Z")) + 1
        #expect(try ids(["--since", RFC3339.format(after)!]).count == 1)
        #expect(try ids(["--since", RFC3339.format(after - 1)!]).count == 2)
        let none = try gatehouse(["inbox", "--home", pair.prison, "--workflow", "medication"])
        #expect(none.status == 0 && none.stdout.contains("Nothing received matches"), "\(none.stdout)")
    }

    @Test func aFolderDroppedWithItsDescriptionIsOnePackInItsWorkflowsFolder() throws {
        let pair = try DaemonPair()
        // The prison publishes reception summaries in a folder of their own.
        let config = try String(contentsOfFile: pair.prison + "/gatehouse.toml", encoding: .utf8)
            + "\n[workflows.reception-summary]\nfolder = \"reception\"\n"
        try config.write(toFile: pair.prison + "/gatehouse.toml", atomically: true, encoding: .utf8)
        try pair.start()
        // A GP system's export: written in a folder of its own, then renamed in whole.
        let export = pair.folder.appending("EMIS-export-0001")
        try FileManager.default.createDirectory(atPath: export, withIntermediateDirectories: true)
        let names = ["gp-record.xml", "letter.pdf", "allergies.txt"]
        for name in names { try write(Array("<\(name)/>".utf8), to: "\(export)/\(name)") }
        try write(Array("""
            # written by the practice system
            subject = "Reception: Ada Testperson"
            workflow = "reception-summary"
            nhs_numbers = ["999 000 0018"]

            """.utf8), to: "\(export)/.gatehouse.toml")
        let outbox = pair.practice + "/spool/outbox/YOI123"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        #expect(rename(export, outbox + "/EMIS-export-0001") == 0)
        let done = eventually { pair.states(pair.practice) == Array(repeating: "acknowledged", count: 3) }
        #expect(done, "\(pair.status(pair.practice))\n\(pair.daemons[pair.practice]!.logText)")
        let id = try #require(pair.status(pair.practice).first?["bundle_id"] as? String)
        let published = pair.prison + "/reception/A81001/\(id)"
        #expect(records(pair, published) == names.sorted())
        let entry = try #require(try inbox(pair, ["--workflow", "reception-summary", "--nhs-number", "9990000018"])
            .first)
        #expect(entry["path"] as? String == published && entry["subject"] as? String == "Reception: Ada Testperson")
        // The sender keeps the pack whole, description included.
        let kept = pair.listing(pair.practice + "/spool/sent/\(id)/EMIS-export-0001")
        #expect(kept == [".gatehouse.toml"] + names.sorted())
    }

    @Test func badNHSNumbersWorkflowsAndDescriptionsAreRefusedWithClearErrors() throws {
        let pair = try DaemonPair()
        let file = pair.folder.appending("summary.xml")
        try write(Array("<summary/>".utf8), to: file)
        let send = ["send", file, "--to", "YOI123", "--home", pair.practice]
        let cases: [(arguments: [String], status: Int32, message: String)] = [
            (["--nhs-number", "999 000 0019"], 64,
             "\"9990000019\" is not a valid NHS number: its check digit (the last) should be 8, not 9"),
            (["--nhs-number", "12345"], 64, "must be ten digits"),
            (["--nhs-number", "9990000018", "--nhs-number", "999-000-0018"], 64,
             "NHS number 9990000018 is given twice"),
            (["--workflow", "Reception"], 64, "may hold only lower-case letters"),
            (["--workflow", "transfer"], 12, "workflow transfer is not one this gateway sends"),
            (["--subject", "Ada\u{202E}Testperson"], 64, "the subject contains U+202E RIGHT-TO-LEFT OVERRIDE"),
        ]
        for (arguments, status, message) in cases {
            let result = try gatehouse(send + arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(pair.listing(pair.practice + "/spool/outbox/YOI123").isEmpty, "\(arguments)")
        }
        for (arguments, message) in [(["--nhs-number", "123"], "must be ten digits"),
                                     (["--since", "yesterday"], "how long ago"),
                                     (["--workflow", "../x"], "lower-case letters")] {
            let result = try gatehouse(["inbox", "--home", pair.prison] + arguments)
            #expect(result.status == 64 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let audit = try gatehouse(["audit", "show", "--home", pair.practice, "--since", "soon"])
        #expect(audit.status == 64 && audit.stderr.contains(PointInTime.expected), "\(audit.stderr)")

        // Dropped packs: a bad description, and a link to a secret inside a pack. Each goes to
        // failed/ whole, with the reason; nothing is sent.
        try pair.start()
        let secret = pair.folder.appending("secret.txt")
        try write(Array("not for sending".utf8), to: secret)
        let outbox = pair.practice + "/spool/outbox/YOI123"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        for (name, extra) in [("bad-description", "nhs_numbers"), ("with-a-link", "link")] {
            let folder = pair.folder.appending(name)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try write(Array("<record/>".utf8), to: "\(folder)/record.xml")
            if extra == "link" {
                #expect(symlink(secret, "\(folder)/notes.txt") == 0)
            } else {
                let text = "workflow = \"reception-summary\"\nnhs_numbers = [\"9990000019\"]\n"
                try write(Array(text.utf8), to: "\(folder)/.gatehouse.toml")
            }
            #expect(rename(folder, "\(outbox)/\(name)") == 0)
        }
        let failed = pair.practice + "/spool/failed"
        // Hidden names are folders being filled (FailedFolder): not there for a person yet.
        let shown = { pair.listing(failed).filter { !$0.hasPrefix(".") } }
        #expect(eventually { shown().count == 2 }, "\(pair.daemons[pair.practice]!.logText)")
        let reasons = shown().map { folder in
            (pair.listing("\(failed)/\(folder)"),
             (try? String(contentsOfFile: "\(failed)/\(folder)/reason.txt", encoding: .utf8)) ?? "")
        }
        let badDescription = "not sent: \"bad-description\" for YOI123: .gatehouse.toml:2: key 'nhs_numbers': "
            + "\"9990000019\" is not a valid NHS number"
        #expect(reasons.contains { $0.0 == ["bad-description", "reason.txt"] && $0.1.contains(badDescription) }, "\(reasons)")
        #expect(reasons.contains { $0.0 == ["reason.txt", "with-a-link"] && $0.1.contains("\"notes.txt\" is a symbolic link") },
                "\(reasons)")
        #expect(pair.status(pair.practice).isEmpty && pair.listing(pair.mailboxes + "/YOI123").isEmpty,
                "\(pair.status(pair.practice)) \(pair.listing(pair.mailboxes + "/YOI123"))")
    }
}
