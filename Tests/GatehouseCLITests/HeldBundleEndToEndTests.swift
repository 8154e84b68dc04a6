import Foundation
import GatehouseTesting
import Glibc
import Testing

/// A GP practice sends to a prison that has not added the practice's card yet, through the
/// built binary, two real daemons and a real relay (OpenSSH's sshd): the prison holds the pack
/// and says so, both ends see it held, and it completes the moment the card is added.
@Suite("Held bundles end to end", .serialized)
struct HeldBundleEndToEndTests {
    func gatehouse(_ arguments: [String]) throws -> ProcessOutput { try GatehouseProcess.run(arguments) }

    @Test func aPackFromAPracticeThePrisonHasNotAddedIsHeldThenOpenedWhenTheCardIsAdded() throws {
        let pair = try DaemonPair(viaRelay: true, prisonPinsPractice: false)
        try pair.start()
        let files: [(String, [UInt8])] = [
            ("summary.xml", Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8)),
            ("medications.csv", Array("drug,dose\nMetformin,500mg\n".utf8)),
            ("letter.pdf", (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }),
        ]
        for (name, bytes) in files { try Data(bytes).write(to: URL(fileURLWithPath: pair.folder.appending(name))) }
        // `send --wait` stops waiting as soon as the bundle is held: someone has to act.
        let sent = try gatehouse(
            ["send"] + files.map { pair.folder.appending($0.0) } + [
                "--to", "YOI123", "--home", pair.practice, "--subject", "Reception: Ada Testperson", "--nhs-number",
                "999 000 0018",
                "--workflow", "reception-summary", "--wait", "--timeout", "60s",
            ])
        #expect(
            sent.status != 0 && sent.stderr.contains("is held by YOI123: they have not added your card"),
            "\(sent.stdout)\(sent.stderr)\n\(pair.daemons[pair.prison]!.logText)")

        // The prison: held, with the claimed sender and the reason, nothing published.
        let inbox = pair.inbox(pair.prison)
        let entry = try #require(inbox.first)
        #expect(
            inbox.count == 1 && entry["state"] as? String == "held" && entry["sender"] as? String == "A81001",
            "\(inbox)")
        #expect(
            (entry["reason"] as? String)?.hasPrefix("unknown-sender: A81001 is not a partner here") == true, "\(entry)")
        let id = try #require(entry["bundle_id"] as? String)
        let text = try gatehouse(["inbox", "--home", pair.prison])
        #expect(
            text.stdout.contains("\(id)  from A81001 (claimed; its card is not added here)  held"), "\(text.stdout)")
        #expect(pair.listing(pair.prison + "/spool/held") == [id])
        #expect(pair.listing(pair.prison + "/spool/received").isEmpty)

        // The practice: held by the prison, not final.
        let bundle = try #require(pair.status(pair.practice).first)
        #expect(bundle["bundle_id"] as? String == id && bundle["state"] as? String == "held")
        #expect(bundle["last_error"] as? String == "held by YOI123: they have not added your card")
        let status = try gatehouse(["status", "--home", pair.practice])
        #expect(status.stdout.contains("held by YOI123: they have not added your card"), "\(status.stdout)")

        // The prison adds the practice's card while its gateway runs: the pack is opened and published.
        let card = pair.folder.appending("practice.card")
        try pair.check(gatehouse(["identity", "export", "--home", pair.practice, "-o", card]))
        let added = try gatehouse(["partners", "add", "--home", pair.prison, card, "--yes"])
        #expect(
            added.status == 0 && added.stdout.contains("1 bundle from A81001 held for this card"),
            "\(added.stdout)\(added.stderr)")
        #expect(
            eventually { pair.states(pair.practice) == ["acknowledged", "acknowledged", "acknowledged"] },
            "\(pair.status(pair.practice))\n\(pair.daemons[pair.prison]!.logText)")
        let published = pair.prison + "/spool/received/A81001/\(id)"
        #expect(pair.listing(published).filter { !$0.hasPrefix(".") } == files.map(\.0).sorted())
        let after = try #require(pair.inbox(pair.prison).first)
        #expect(
            after["state"] as? String == "published" && after["subject"] as? String == "Reception: Ada Testperson",
            "\(after)")
        #expect(pair.listing(pair.prison + "/spool/held").isEmpty)
        let shown = try gatehouse(["receipt", "show", id, "--home", pair.practice])
        #expect(shown.status == 0 && shown.stdout.contains("exactly as sent"), "\(shown.stdout)\(shown.stderr)")
    }

    @Test func aHeldPackExpiresWithAFinalReceiptAndItsBytesGoToQuarantine() throws {
        let pair = try DaemonPair(prisonPinsPractice: false)
        try InsiderAttacksEndToEndTests.configure(pair.prison, [("held_expire", "2s")])
        let shown = try gatehouse(["config", "check", "--home", pair.prison])
        #expect(shown.stdout.contains("limits.held_expire         2s"), "\(shown.stdout)")
        try pair.start()
        try pair.drop("summary.xml", Array("<summary/>".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["failed"] }, "\(pair.status(pair.practice))")
        let bundle = try #require(pair.status(pair.practice).first)
        #expect(bundle["last_error"] as? String == "YOI123 refused the bundle: expired")
        let id = try #require(bundle["bundle_id"] as? String)
        let entry = try #require(pair.inbox(pair.prison).first)
        #expect(
            entry["state"] as? String == "rejected"
                && (entry["reason"] as? String)?.hasPrefix("expired: held 0 h unopened") == true,
            "\(entry)")
        #expect(pair.listing(pair.prison + "/spool/held").isEmpty)
        #expect(pair.listing(pair.prison + "/spool/quarantine/\(id)").contains("\(id).ghb"))
        // The practice was told it was held before it was told it failed.
        let history = try gatehouse(["status", id, "--home", pair.practice]).stdout
        #expect(
            history.contains("held: held by YOI123: they have not added your card")
                && history.contains("failed: YOI123 refused"),
            "\(history)")
    }
}
