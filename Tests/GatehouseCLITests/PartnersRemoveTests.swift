import Foundation
import Glibc
import GatehouseTesting
import Testing

/// `partners add` makes the partner's drop folder; `partners remove` unpins a partner only once
/// nothing is on its way to it (or with --force), and loses nothing: its card is kept, receipts
/// from the partnership still verify, evidence and records stay.
@Suite("gatehouse partners add and remove (end to end)", .serialized)
struct PartnersRemoveTests {
    @Test func removingAPartnerKeepsItsCardAndEvidenceAndRefusesWhileMailIsOnItsWay() throws {
        let pair = try DaemonPair()
        let outbox = pair.practice + "/spool/outbox/YOI123"
        var info = stat()
        #expect(lstat(outbox, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR && info.st_mode & 0o777 == 0o700,
                "partners add made no drop folder")
        func gatehouse(_ arguments: String..., stdin: String? = nil) throws -> ProcessOutput {
            try GatehouseProcess.run(arguments + ["--home", pair.practice], stdin: stdin)
        }

        // One record acknowledged, then one on its way (the prison stopped: delivered, no receipt).
        try pair.start()
        try pair.drop("summary.xml", Array("<summary nhs=\"9990000018\"/>".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] }, "\(pair.status(pair.practice))")
        #expect(pair.daemons[pair.prison]?.stop() == 0)
        try pair.drop("letter.pdf", Array("%PDF-1.7 letter".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice).first == "delivered" }, "\(pair.status(pair.practice))")
        #expect(pair.daemons[pair.practice]?.stop() == 0)
        let acknowledged = try #require(pair.status(pair.practice).last?["bundle_id"] as? String)

        let notConfirmed = try gatehouse("partners", "remove", "YOI123", stdin: "n\n")
        #expect(notConfirmed.status == 11 && notConfirmed.stderr.contains("bundle to YOI123 not yet acknowledged"),
                "\(notConfirmed.stderr)")
        let onItsWay = try gatehouse("partners", "remove", "YOI123", "--yes")
        #expect(onItsWay.status == 11 && onItsWay.stderr.contains("gatehouse: hint: wait until `gatehouse status`"),
                "\(onItsWay.stderr)")
        try Data("waiting".utf8).write(to: URL(fileURLWithPath: outbox + "/referral.txt"))
        let waiting = try gatehouse("partners", "remove", "YOI123", "--yes")
        #expect(waiting.status == 11 && waiting.stderr.contains("1 file(s) waiting in \(outbox)"), "\(waiting.stderr)")
        #expect(FileManager.default.fileExists(atPath: pair.practice + "/partners/YOI123.card"))

        let cancelled = try gatehouse("partners", "remove", "YOI123", "--force", stdin: "n\n")
        #expect(cancelled.status == 11)
        #expect(FileManager.default.fileExists(atPath: pair.practice + "/partners/YOI123.card"))
        let removed = try gatehouse("partners", "remove", "YOI123", "--force", stdin: "y\n")
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: pair.practice + "/partners/YOI123.card"))
        let kept = try FileManager.default.contentsOfDirectory(atPath: pair.practice + "/partners/removed")
        #expect(kept.count == 1 && kept[0].hasPrefix("YOI123-") && kept[0].hasSuffix("Z.card"), "\(kept)")
        // The record dropped for it is not deleted; the evidence and the journal stay.
        #expect(FileManager.default.fileExists(atPath: outbox + "/referral.txt"))
        let evidence = pair.practice + "/spool/evidence/out/\(acknowledged)"
        #expect(FileManager.default.fileExists(atPath: evidence + ".ghr"))
        #expect(try gatehouse("partners", "list").stdout.contains("No partners yet"))

        // The receipt from the partnership still verifies, against the card kept.
        let receipt = try gatehouse("receipt", "show", String(acknowledged.prefix(8)))
        #expect(receipt.status == 0 && receipt.stdout.contains("verified")
                && receipt.stdout.contains("YOI123 is no longer a partner: checked against its card kept in"),
                "\(receipt)")
        let audit = try gatehouse("audit", "show", "--json")
        #expect(audit.stdout.contains("\"event\":\"partner-removed\"") && audit.stdout.contains("forced with"),
                "\(audit.stdout)")
        #expect(try gatehouse("audit", "verify").status == 0)
        // Gone is gone: a second removal says it is not a partner.
        #expect(try gatehouse("partners", "remove", "YOI123", "--yes").status == 11)
    }

    @Test func anIdlePartnerGoesWithItsEmptyDropFolder() throws {
        let pair = try DaemonPair()
        let removed = try GatehouseProcess.run(["partners", "remove", "--home", pair.prison, "a81001", "--yes"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: pair.prison + "/spool/outbox/A81001"))
        // Added again: the folder comes back.
        let card = pair.folder.appending("practice-again.card")
        #expect(try GatehouseProcess.run(["identity", "export", "--home", pair.practice, "-o", card]).status == 0)
        let added = try GatehouseProcess.run(["partners", "add", "--home", pair.prison, card, "--yes"])
        #expect(added.status == 0, "\(added)")
        #expect(added.stdout.contains("Records for it go into \(pair.prison)/spool/outbox/A81001/"), "\(added)")
        #expect(FileManager.default.fileExists(atPath: pair.prison + "/spool/outbox/A81001"))
    }
}
