import Foundation
import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// Issue 13's two vulnerabilities, attacked end to end as an organisation registered on the same
/// relay would attack them: a real `gatehouse relay` (sshd), the two real daemons, and the
/// insider Q12345 using OpenSSH's own `sftp` client with its own registered key.
///
/// 1. Forged receipts: Q12345, pinned by the prison, signs receipts claiming to be A81001's for
///    the prison's bundle to A81001, and puts them in the prison's mailbox.
/// 2. Revocation suppression: the prison revokes its signing key while A81001 is offline;
///    Q12345 tries to remove the revocation from A81001's mailbox (and to overwrite it, or
///    learn that it is there); the relay's operator, who can, deletes it.
@Suite("Insider attacks through a real relay", .serialized)
struct InsiderAttacksEndToEndTests {
    /// The insider's home and what it needs to talk to the relay.
    struct Insider {
        let home: String
        let key: String
        let port: Int
        let user: String
        let folder: TemporaryDirectory

        /// Runs OpenSSH's `sftp -b` with `commands` as the insider; returns (status, output).
        func sftp(_ commands: [String]) throws -> (Int32, String) {
            let batch = folder.appending("batch-\(UUID().uuidString)")
            try commands.joined(separator: "\n").write(toFile: batch, atomically: true, encoding: .utf8)
            let out = try GatehouseProcess.runProgram("/usr/bin/sftp", [
                "-b", batch, "-i", key, "-P", "\(port)", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "\(user)@127.0.0.1",
            ], home: folder.path)
            return (out.status, out.stdout + out.stderr)
        }
    }

    static func insider(joining pair: DaemonPair) throws -> Insider {
        let home = pair.folder.appending("insider")
        try pair.check(GatehouseProcess.run(["init", "--home", home, "--org", "Q12345", "--name", "Quayside Test Clinic",
                                             "--mailbox", try GatehouseProcess.run(["relay", "address", "--home", pair.relay!]).stdout
                                                .trimmingCharacters(in: .whitespacesAndNewlines)]))
        let card = pair.folder.appending("insider.card")
        try pair.check(GatehouseProcess.run(["identity", "export", "--home", home, "-o", card]))
        try pair.check(GatehouseProcess.run(["relay", "add", "--home", pair.relay!, card, "--yes"]))
        // The prison pins the insider: it is a partner the prison exchanges records with.
        try pair.check(GatehouseProcess.run(["partners", "add", "--home", pair.prison, card, "--yes"]))
        let toml = try String(contentsOfFile: pair.relay! + "/relay.toml", encoding: .utf8)
        let port = Int(toml.components(separatedBy: "listen = \"127.0.0.1:")[1].prefix { $0.isNumber })!
        let user = String(toml.components(separatedBy: "\nuser = \"")[1].prefix { $0 != "\"" })
        return Insider(home: home, key: try KeyStore(home: GatehouseHome(path: home)).sshKeyFile(), port: port, user: user, folder: pair.folder)
    }

    /// Sets `[keys]` timings in `home`'s gatehouse.toml.
    static func configure(_ home: String, _ settings: [(String, String)]) throws {
        var config = try String(contentsOfFile: home + "/gatehouse.toml", encoding: .utf8)
        for (key, value) in settings {
            config = config.replacingOccurrences(of: #"(?m)^\#(key) = .*$"#, with: "\(key) = \"\(value)\"", options: .regularExpression)
        }
        try config.write(toFile: home + "/gatehouse.toml", atomically: true, encoding: .utf8)
    }

    func json(_ arguments: [String]) throws -> Any {
        let out = try GatehouseProcess.run(arguments)
        guard out.status == 0 else { throw GatehouseProcess.LaunchError(description: "\(arguments) failed: \(out.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))
    }

    func confirmed(_ home: String, by partner: String) -> Int? {
        let entries = (try? json(["partners", "list", "--json", "--home", home])) as? [[String: Any]]
        return entries?.first { $0["org"] as? String == partner }?["own_manifest_confirmed"] as? Int
    }

    @Test func forgedReceiptsAndSuppressedRevocationsFailThroughARealRelay() throws {
        let pair = try DaemonPair(viaRelay: true)
        let insider = try Self.insider(joining: pair)
        try Self.configure(pair.prison, [("manifest_resend", "1s"), ("revocation_confirm_within", "3s")])
        try pair.startRelay()
        // Only the prison runs: A81001 is offline, as in the attacks reported.
        pair.daemons[pair.prison] = try DaemonProcess(home: pair.prison)
        try pair.drop("release.xml", Array("<release nhs=\"9990000034\">Ada Testperson</release>".utf8), from: pair.prison, to: "A81001")
        #expect(eventually { pair.states(pair.prison) == ["delivered"] }, "\(pair.status(pair.prison))")
        let bundle = try #require(pair.status(pair.prison).first)
        let id = try #require(bundle["bundle_id"] as? String)
        let digest = try #require((bundle["bundle_sha256"] as? String).flatMap { [UInt8](hex: $0) }.flatMap(SHA256Digest.init(bytes:)))

        // 1. Forged receipts, processed and failed, signed by the insider's own key in A81001's name.
        let signingKey = try KeyStore(home: GatehouseHome(path: insider.home)).loadSigningKey()
        for (n, disposition) in [ReceiptDisposition.processed, .failed(.authenticationFailed)].enumerated() {
            let forged = try Receipt.signed(
                bundleID: BundleID(hex: id), bundleSender: ODSCode("YOI123"), receiver: ODSCode("A81001"), bundleSHA256: digest,
                receivedAt: UInt64(Date().timeIntervalSince1970), disposition: disposition,
                manifestSHA256: disposition == .processed ? SHA256Hasher.hash([1]) : nil, fileDigests: [], signingKey: signingKey)
            let file = pair.folder.appending("forged-\(n).ghr")
            try Data(forged.encoded).write(to: URL(fileURLWithPath: file))
            // Under the insider's own code: the only receipt name the relay lets it publish.
            let (status, output) = try insider.sftp(["put \(file) /YOI123/.forged-\(n)", "rename /YOI123/.forged-\(n) /YOI123/\(id).Q12345.ghr"])
            #expect(status == 0, "\(output)")
            #expect(eventually { pair.listing(pair.mailboxes + "/YOI123").isEmpty })
            #expect(pair.states(pair.prison) == ["delivered"], "a forged \(disposition) receipt changed the bundle")
        }
        // Under A81001's name the relay refuses it outright.
        let (claimed, claimedOutput) = try insider.sftp(["put \(pair.folder.appending("forged-0.ghr")) /YOI123/.forged-a",
                                                         "rename /YOI123/.forged-a /YOI123/\(id).A81001.ghr"])
        #expect(claimed != 0, "\(claimedOutput)")
        let quarantined = pair.listing(pair.prison + "/spool/quarantine").filter { $0.hasPrefix("receipt-") }
        #expect(quarantined.count == 2, "\(quarantined)")
        #expect(FileManager.default.fileExists(atPath: "\(pair.prison)/spool/work/out/\(id)/release.xml"), "the original was released")

        // 2. The prison revokes its signing key; the revocation waits in A81001's mailbox.
        let status = try #require(try json(["keys", "status", "--json", "--home", pair.prison]) as? [String: Any])
        let signing = try #require((status["keys"] as? [[String: Any]])?.first {
            $0["role"] as? String == "signing" && $0["state"] as? String == "current" }?["key_id"] as? String)
        let prisonBefore = pair.folder.appending("prison-before")
        try FileManager.default.createDirectory(atPath: prisonBefore, withIntermediateDirectories: true)
        for item in ["keys", "partners", "gatehouse.toml"] {
            try FileManager.default.copyItem(atPath: "\(pair.prison)/\(item)", toPath: "\(prisonBefore)/\(item)")
        }
        let revoked = try GatehouseProcess.run(["keys", "revoke", signing, "--reason", "compromised", "--home", pair.prison])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let revocation = "\(pair.mailboxes)/A81001/YOI123.2.ghk"
        #expect(eventually { FileManager.default.fileExists(atPath: revocation) })
        let original = try Data(contentsOf: URL(fileURLWithPath: revocation))
        // The insider has a copy (say, from its own mailbox) and tries every way to remove it.
        let copy = pair.folder.appending("copy.ghk")
        try original.write(to: URL(fileURLWithPath: copy))
        for attempt in [
            ["put \(copy) /A81001/.copy", "rename /A81001/.copy /A81001/YOI123.2.ghk", "rm /A81001/YOI123.2.ghk"],
            ["rm /A81001/YOI123.2.ghk"],
            ["rename /A81001/YOI123.2.ghk /A81001/.gone"],
            ["ls /A81001"],
            ["get /A81001/YOI123.2.ghk stolen.ghk"],
        ] {
            let (code, output) = try insider.sftp(attempt)
            #expect(code != 0, "\(attempt) succeeded: \(output)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: revocation)) == original, "\(attempt)")
        }
        // Its own statement of bytes it already holds tells it nothing either: the refusal is the
        // same as for other bytes and for a name that does not exist.
        try Data("other".utf8).write(to: URL(fileURLWithPath: pair.folder.appending("other.ghk")))
        var answers: [String] = []
        for (source, target) in [(copy, "YOI123.2.ghk"), (pair.folder.appending("other.ghk"), "YOI123.2.ghk"), (copy, "YOI123.9.ghk")] {
            let (_, output) = try insider.sftp(["put \(source) /A81001/.probe", "rename /A81001/.probe /A81001/\(target)"])
            answers.append(output.components(separatedBy: "\n").first { $0.contains("rename") && !$0.hasPrefix("sftp>") } ?? output)
        }
        #expect(answers[0].replacingOccurrences(of: "YOI123.2", with: "X") == answers[1].replacingOccurrences(of: "YOI123.2", with: "X"),
                "\(answers)")
        #expect(answers[0].replacingOccurrences(of: "YOI123.2", with: "X") == answers[2].replacingOccurrences(of: "YOI123.9", with: "X"),
                "\(answers)")

        // The relay's operator can delete it; the prison puts it back until A81001 confirms it,
        // and warns meanwhile.
        try FileManager.default.removeItem(atPath: revocation)
        #expect(eventually { FileManager.default.fileExists(atPath: revocation) }, "the revocation was not sent again")
        #expect(confirmed(pair.prison, by: "A81001") == 0)
        let warned = eventually(timeout: 20) {
            let out = try? GatehouseProcess.run(["keys", "status", "--home", pair.prison])
            return out?.stdout.contains("WARNING: partner A81001 has not confirmed YOI123's key manifest version 2, which revokes \(signing)") == true
        }
        #expect(warned)

        // A81001 comes back: it takes the revocation, confirms it, and refuses what the revoked key signs.
        pair.daemons[pair.practice] = try DaemonProcess(home: pair.practice)
        #expect(eventually { confirmed(pair.prison, by: "A81001") == 2 }, "\(pair.daemons[pair.prison]!.logText)")
        #expect(eventually { pair.states(pair.prison) == ["acknowledged"] }, "\(pair.status(pair.prison))")
        #expect(pair.received(pair.practice, from: "YOI123")["release.xml"] != nil)
        let keysStatus = try GatehouseProcess.run(["keys", "status", "--home", pair.prison]).stdout
        #expect(!keysStatus.contains("partner A81001 has not confirmed"), "\(keysStatus)")
        // (The insider runs no gateway: it confirms nothing, and the prison says so.)
        #expect(keysStatus.contains("partner Q12345 has not confirmed"), "\(keysStatus)")
        let record = pair.folder.appending("late.xml")
        try Data("<late/>".utf8).write(to: URL(fileURLWithPath: record))
        let sealed = try GatehouseProcess.run(["seal", "--home", prisonBefore, "--to", "A81001", "-o", pair.folder.appending("late.ghb"), record])
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let lateID = String(sealed.stdout.components(separatedBy: "bundle id:").last!.trimmingCharacters(in: .whitespaces).prefix(32))
        #expect(try GatehouseProcess.run(["deliver", "--home", prisonBefore, pair.folder.appending("late.ghb")]).status == 0)
        #expect(eventually { FileManager.default.fileExists(atPath: "\(pair.practice)/spool/quarantine/\(lateID)/reason.txt") })
        let reason = (try? String(contentsOfFile: "\(pair.practice)/spool/quarantine/\(lateID)/reason.txt", encoding: .utf8)) ?? ""
        #expect(reason.contains("REFUSED (revoked-key)"), "\(reason)")
        for daemon in pair.daemons.values { #expect(daemon.stop() == 0) }
    }
}
