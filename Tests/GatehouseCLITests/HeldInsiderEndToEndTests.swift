import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Glibc
import Testing

/// The insider Q12345, registered on the same relay, uses the prison's holding of bundles from
/// senders it has not pinned: it floods the prison with bundles claiming to be A81001's, signed
/// with its own key, through OpenSSH's own `sftp` client. Real relay, real prison daemon.
@Suite("Held bundles: a flood in a practice's name through a real relay", .serialized)
struct HeldInsiderEndToEndTests {
    /// A bundle for the prison claiming to be A81001's, signed with the insider's key.
    func forged(by insider: InsiderAttacksEndToEndTests.Insider, for prison: IdentityCard) throws -> (String, [UInt8]) {
        let sealer = BundleSealer(
            sender: try ODSCode("A81001"), recipients: [SealRecipient(org: prison.org, key: prison.encryptionKey)])
        let sink = MemorySink()
        let id = BundleID.random()
        let body = Array("<summary nhs=\"9990000018\">Ada Testperson (forged)</summary>".utf8)
        let key = try KeyStore(home: GatehouseHome(path: insider.home)).loadSigningKey()
        _ = try sealer.seal(
            bundleID: id, createdAt: UInt64(Date().timeIntervalSince1970),
            files: [SealInput(name: "summary.xml", size: UInt64(body.count), source: MemorySource(body))],
            signingKey: key, to: sink)
        return (id.hex, sink.bytes)
    }

    @Test func aFloodClaimingAPracticeIsBoundedAnsweredOnceAndRefusedWhenTheRealCardIsAdded() throws {
        let pair = try DaemonPair(viaRelay: true, prisonPinsPractice: false)
        let insider = try InsiderAttacksEndToEndTests.insider(joining: pair)
        try InsiderAttacksEndToEndTests.configure(pair.prison, [("unknown_sender_hold", "1s")])
        let toml = try String(contentsOfFile: pair.prison + "/gatehouse.toml", encoding: .utf8)
            .replacingOccurrences(of: "held_per_sender = 100", with: "held_per_sender = 2")
        try toml.write(toFile: pair.prison + "/gatehouse.toml", atomically: true, encoding: .utf8)
        try pair.startRelay()
        // Only the prison runs: what reaches A81001's mailbox stays there to be counted.
        pair.daemons[pair.prison] = try DaemonProcess(home: pair.prison)
        let prisonCard = pair.folder.appending("prison.card")
        try pair.check(GatehouseProcess.run(["identity", "export", "--home", pair.prison, "-o", prisonCard]))
        let prison = try IdentityCard.parse(try String(contentsOfFile: prisonCard, encoding: .utf8))
        var ids: [String] = []
        var commands: [String] = []
        for n in 0..<5 {
            let (id, bytes) = try forged(by: insider, for: prison)
            let file = pair.folder.appending("forged-\(n).ghb")
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            commands += ["put \(file) /YOI123/.f\(n)", "rename /YOI123/.f\(n) /YOI123/\(id).ghb"]
            ids.append(id)
        }
        // One session for the whole flood.
        let (status, output) = try insider.sftp(commands)
        #expect(status == 0, "\(output)")
        #expect(eventually { pair.inbox(pair.prison).count == 5 }, "\(pair.daemons[pair.prison]!.logText)")
        let states = pair.inbox(pair.prison).compactMap { $0["state"] as? String }
        #expect(states.sorted() == ["held", "held", "rejected", "rejected", "rejected"], "\(states)")
        #expect(pair.listing(pair.prison + "/spool/held").count == 2)
        // One receipt reached A81001, whatever the flood: the 10-minute rule per claimed sender.
        let receipts = { pair.listing(pair.mailboxes + "/A81001").filter { $0.hasSuffix(".ghr") } }
        #expect(receipts().count == 1, "\(receipts())")

        // The prison adds A81001's real card: none of the held bundles was signed by its keys.
        let card = pair.folder.appending("practice.card")
        try pair.check(GatehouseProcess.run(["identity", "export", "--home", pair.practice, "-o", card]))
        try pair.check(GatehouseProcess.run(["partners", "add", "--home", pair.prison, card, "--yes"]))
        #expect(
            eventually { pair.listing(pair.prison + "/spool/held").isEmpty }, "\(pair.daemons[pair.prison]!.logText)")
        for entry in pair.inbox(pair.prison) {
            #expect(entry["state"] as? String == "rejected", "\(entry)")
            #expect((entry["reason"] as? String)?.hasPrefix("unknown-sender") == true, "\(entry)")
        }
        #expect(pair.listing(pair.prison + "/spool/received").isEmpty)
        let quarantined = pair.listing(pair.prison + "/spool/quarantine")
        #expect(ids.allSatisfy { quarantined.contains($0) }, "\(quarantined)")
        // The answered one's final receipt follows its held one; the other's refusal falls under
        // the 10-minute rule (the sender is still not proven: the card does not match).
        #expect(eventually { receipts().count == 2 }, "\(receipts())")
        #expect(receipts().filter { $0.hasSuffix(".held.ghr") }.count == 1, "\(receipts())")
    }
}
