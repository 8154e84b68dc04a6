import Foundation
import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// Key rotation, revocation and manifest distribution between two running `gatehouse run`
/// daemons (issue: key lifecycle). Everything goes through the binary; the only library use is
/// building a card with a past expiry, which no command can make.
@Suite("Key lifecycle end to end", .serialized)
struct KeyLifecycleEndToEndTests {
    func json(_ arguments: [String]) throws -> Any {
        let out = try GatehouseProcess.run(arguments)
        guard out.status == 0 else { throw GatehouseProcess.LaunchError(description: "\(arguments) failed: \(out.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8))
    }

    /// `partners list --json` of `home`, by org.
    func partners(_ home: String) throws -> [String: [String: Any]] {
        let entries = try json(["partners", "list", "--json", "--home", home]) as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: entries.map { ($0["org"] as? String ?? "", $0) })
    }

    func keyStatus(_ home: String) throws -> [String: Any] {
        try json(["keys", "status", "--json", "--home", home]) as? [String: Any] ?? [:]
    }

    /// The current key id of `role` in `keys status --json`.
    func currentKey(_ status: [String: Any], _ role: String) -> String? {
        (status["keys"] as? [[String: Any]])?.first { $0["role"] as? String == role && $0["state"] as? String == "current" }?["key_id"] as? String
    }

    func auditEvents(_ home: String) throws -> [[String: Any]] {
        try GatehouseProcess.run(["audit", "show", "--home", home, "--json"]).stdout
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Copies the keys, partners and configuration of `home` (not its spool): a snapshot of
    /// what the organisation's keys were at this moment.
    func snapshot(_ home: String, to copy: String) throws {
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        for item in ["keys", "partners", "gatehouse.toml"] {
            try FileManager.default.copyItem(atPath: "\(home)/\(item)", toPath: "\(copy)/\(item)")
        }
    }

    /// Seals `name` from `home` to YOI123 or A81001 and returns the bundle path and id.
    func seal(_ name: String, from home: String, to org: String, in folder: TemporaryDirectory) throws -> (path: String, id: String) {
        let record = folder.appending(name)
        try Data("<record nhs=\"9990001234\">\(name)</record>".utf8).write(to: URL(fileURLWithPath: record))
        let bundle = folder.appending("\(name).ghb")
        let sealed = try GatehouseProcess.run(["seal", "--home", home, "--to", org, "-o", bundle, record])
        guard sealed.status == 0 else { throw GatehouseProcess.LaunchError(description: "seal failed: \(sealed.stderr)") }
        let id = String(sealed.stdout.components(separatedBy: "bundle id:").last!.trimmingCharacters(in: .whitespaces).prefix(32))
        return (bundle, id)
    }

    @Test(arguments: [false, true])
    func rotatingWhileRecordsFlowBothWaysLosesNothing(viaRelay: Bool) throws {
        let pair = try DaemonPair(viaRelay: viaRelay)
        try pair.start()
        let before = try keyStatus(pair.practice)
        let oldEncryption = try #require(currentKey(before, "encryption"))
        let oldSigning = try #require(currentKey(before, "signing"))
        let practiceBefore = pair.folder.appending("practice-before")
        try snapshot(pair.practice, to: practiceBefore)

        var toPrison: [String: [UInt8]] = [:]
        var toPractice: [String: [UInt8]] = [:]
        let grace = 8
        for i in 1...24 {
            let outgoing = Array("<letter nhs=\"99900\(String(format: "%05d", i))\">practice \(i)</letter>".utf8)
            let incoming = Array("<release nhs=\"99901\(String(format: "%05d", i))\">prison \(i)</release>".utf8)
            toPrison["letter-\(i).xml"] = outgoing
            toPractice["release-\(i).xml"] = incoming
            try pair.drop("letter-\(i).xml", outgoing, from: pair.practice, to: "YOI123")
            try pair.drop("release-\(i).xml", incoming, from: pair.prison, to: "A81001")
            if i == 8 {
                let rotated = try GatehouseProcess.run(["keys", "rotate", "--grace", "\(grace)s", "--home", pair.practice])
                #expect(rotated.status == 0, "\(rotated.stderr)")
            }
            if i == 16 {
                let rotated = try GatehouseProcess.run(["keys", "rotate", "--grace", "\(grace)s", "--home", pair.prison])
                #expect(rotated.status == 0, "\(rotated.stderr)")
            }
            usleep(120_000)
        }
        let rotatedAt = Date()
        let done = eventually(timeout: 90) {
            pair.states(pair.practice) == Array(repeating: "acknowledged", count: toPrison.count)
                && pair.states(pair.prison) == Array(repeating: "acknowledged", count: toPractice.count)
        }
        #expect(done, "practice: \(pair.status(pair.practice))\nprison: \(pair.status(pair.prison))\n\(pair.daemons[pair.practice]!.logText)\n\(pair.daemons[pair.prison]!.logText)")
        #expect(pair.received(pair.prison, from: "A81001") == toPrison)
        #expect(pair.received(pair.practice, from: "YOI123") == toPractice)
        #expect(pair.listing(pair.practice + "/spool/quarantine").isEmpty && pair.listing(pair.prison + "/spool/quarantine").isEmpty)

        // Each side now holds the other's manifest version 2 and seals to the new key.
        let after = try keyStatus(pair.practice)
        let newEncryption = try #require(currentKey(after, "encryption"))
        #expect(newEncryption != oldEncryption)
        let practiceSeenByPrison = eventually { (try? partners(pair.prison)["A81001"]?["manifest_version"] as? Int) == 2 }
        #expect(practiceSeenByPrison)
        #expect(try partners(pair.prison)["A81001"]?["encryption_key_id"] as? String == newEncryption)
        #expect(eventually { (try? partners(pair.practice)["YOI123"]?["manifest_version"] as? Int) == 2 })
        let accepted = try auditEvents(pair.prison).filter { $0["event"] as? String == "partner-manifest-accepted" }
        #expect(accepted.count == 1 && (accepted.first?["detail"] as? String)?.contains("version 1 -> 2") == true, "\(accepted)")
        // A record sent now is sealed to the new key: the prison's bundle names it.
        try pair.drop("after-rotation.xml", Array("<release/>".utf8), from: pair.prison, to: "A81001")
        #expect(eventually { pair.states(pair.prison).filter { $0 == "acknowledged" }.count == toPractice.count + 1 })
        let evidence = pair.listing(pair.prison + "/spool/evidence/out").filter { $0.hasSuffix(".ghb") }
        func modified(_ name: String) -> Date {
            ((try? FileManager.default.attributesOfItem(atPath: "\(pair.prison)/spool/evidence/out/\(name)"))?[.modificationDate] as? Date) ?? .distantPast
        }
        let newest = evidence.max { modified($0) < modified($1) }
        let inspected = try GatehouseProcess.run(["inspect", "--home", pair.prison, "--json", "\(pair.prison)/spool/evidence/out/\(try #require(newest))"])
        #expect(inspected.stdout.contains(newEncryption), "\(inspected.stdout)")

        // After the grace window the practice's daemon destroys the old encryption key …
        let remaining = Double(grace) + 1.5 - Date().timeIntervalSince(rotatedAt)
        if remaining > 0 { usleep(UInt32(remaining * 1_000_000)) }
        let destroyed = eventually(timeout: 15) { !FileManager.default.fileExists(atPath: "\(pair.practice)/keys/encryption-\(oldEncryption).key") }
        #expect(destroyed)
        #expect(try auditEvents(pair.practice).contains { $0["event"] as? String == "key-destroyed" && ($0["detail"] as? String)?.contains(oldEncryption) == true })
        // … so a bundle still sealed to it is refused, and one signed by the practice's old signing
        // key after the rotation is refused by the prison.
        // (The prison's current keys with the practice's old card: sealed to the old encryption key.)
        let prisonStale = pair.folder.appending("prison-stale")
        try snapshot(pair.prison, to: prisonStale)
        try FileManager.default.removeItem(atPath: prisonStale + "/partners/A81001.card")
        try FileManager.default.copyItem(atPath: practiceBefore + "/keys/identity.card", toPath: prisonStale + "/partners/A81001.card")
        let stale = try seal("stale.xml", from: prisonStale, to: "A81001", in: pair.folder)
        #expect(try GatehouseProcess.run(["deliver", "--home", prisonStale, stale.path]).status == 0)
        let staleRefused = eventually { FileManager.default.fileExists(atPath: "\(pair.practice)/spool/quarantine/\(stale.id)/reason.txt") }
        #expect(staleRefused, "\(pair.daemons[pair.practice]!.logText)")
        let staleReason = (try? String(contentsOfFile: "\(pair.practice)/spool/quarantine/\(stale.id)/reason.txt", encoding: .utf8)) ?? ""
        #expect(staleReason.contains("REFUSED (not-a-recipient)") && staleReason.contains("encryption key \(oldEncryption), which is superseded; its grace window ended"),
                "\(staleReason)")
        let forged = try seal("old-key.xml", from: practiceBefore, to: "YOI123", in: pair.folder)
        #expect(try GatehouseProcess.run(["deliver", "--home", practiceBefore, forged.path]).status == 0)
        let forgedRefused = eventually { FileManager.default.fileExists(atPath: "\(pair.prison)/spool/quarantine/\(forged.id)/reason.txt") }
        #expect(forgedRefused, "\(pair.daemons[pair.prison]!.logText)")
        let reason = (try? String(contentsOfFile: "\(pair.prison)/spool/quarantine/\(forged.id)/reason.txt", encoding: .utf8)) ?? ""
        // (Within the 5-minute clock-skew allowance of the rotation time, so refused as past its grace window.)
        #expect(reason.contains("REFUSED (expired)") && reason.contains("superseded key \(oldSigning)") && reason.contains("grace window ended"), "\(reason)")
        #expect(pair.received(pair.prison, from: "A81001")["old-key.xml"] == nil)
        for home in [pair.practice, pair.prison] {
            #expect(pair.daemons[home]?.stop() == 0)
            let verified = try GatehouseProcess.run(["audit", "verify", "--home", home])
            #expect(verified.status == 0, "\(verified.stderr)")
        }
    }

    @Test func revokedSigningKeyIsRefusedAfterItsRevocationOnly() throws {
        let pair = try DaemonPair()
        try pair.start()
        let oldSigning = try #require(currentKey(try keyStatus(pair.practice), "signing"))
        let practiceBefore = pair.folder.appending("practice-before")
        try snapshot(pair.practice, to: practiceBefore)
        // Signed before the revocation …
        let early = try seal("before.xml", from: pair.practice, to: "YOI123", in: pair.folder)
        sleep(2)
        let revoked = try GatehouseProcess.run(["keys", "revoke", oldSigning, "--reason", "compromised", "--home", pair.practice])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        #expect(revoked.stdout.contains("Revoked \(oldSigning) (compromised)"))
        #expect(!FileManager.default.fileExists(atPath: "\(pair.practice)/keys/signing-\(oldSigning).key"))
        // Within moments the prison holds the manifest that revokes it.
        let known = eventually { (try? partners(pair.prison)["A81001"]?["manifest_version"] as? Int) == 2 }
        #expect(known, "\(pair.daemons[pair.practice]!.logText)")
        sleep(1)
        // … and signed after it, by someone holding the stolen key.
        let late = try seal("after.xml", from: practiceBefore, to: "YOI123", in: pair.folder)
        for bundle in [early, late] {
            #expect(try GatehouseProcess.run(["deliver", "--home", practiceBefore, bundle.path]).status == 0)
        }
        let handled = eventually { pair.inbox(pair.prison).count == 2 }
        #expect(handled, "\(pair.inbox(pair.prison))\n\(pair.daemons[pair.prison]!.logText)")
        let byID = Dictionary(uniqueKeysWithValues: pair.inbox(pair.prison).map { ($0["bundle_id"] as? String ?? "", $0) })
        #expect(byID[early.id]?["state"] as? String == "published", "\(byID)")
        #expect(byID[late.id]?["state"] as? String == "rejected")
        #expect((byID[late.id]?["reason"] as? String)?.hasPrefix("revoked-key") == true, "\(byID[late.id] ?? [:])")
        #expect(pair.received(pair.prison, from: "A81001")["before.xml"] != nil && pair.received(pair.prison, from: "A81001")["after.xml"] == nil)
        // The verdict on the early one is recorded, and the revocation is in the practice's log.
        let prisonEvents = try auditEvents(pair.prison)
        #expect(prisonEvents.contains { $0["event"] as? String == "signature-before-revocation" && $0["bundle"] as? String == early.id }, "\(prisonEvents)")
        #expect(prisonEvents.contains { $0["event"] as? String == "bundle-rejected" && $0["detail"] as? String == "revoked-key" })
        #expect(try auditEvents(pair.practice).contains { $0["event"] as? String == "key-revoked" })
        // New records still flow both ways, signed with the replacement key.
        try pair.drop("later.xml", Array("<letter/>".utf8), from: pair.practice, to: "YOI123")
        try pair.drop("reply.xml", Array("<reply/>".utf8), from: pair.prison, to: "A81001")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] && pair.states(pair.prison) == ["acknowledged"] },
                "\(pair.status(pair.practice)) \(pair.status(pair.prison))")
    }

    @Test func badManifestsAreRefusedAndAuditedAndTheTrustedOneStays() throws {
        let pair = try DaemonPair()
        let v1 = pair.folder.appending("v1.card")
        try pair.check(GatehouseProcess.run(["identity", "export", "--home", pair.practice, "-o", v1]))
        // The practice's own copy, changed differently: a second manifest version 2.
        let fork = pair.folder.appending("fork")
        try snapshot(pair.practice, to: fork)
        try pair.check(GatehouseProcess.run(["identity", "set-mailbox", "--home", fork, "dir:/nowhere"]))
        try pair.check(GatehouseProcess.run(["keys", "rotate", "--home", pair.practice]))
        try pair.start()
        let accepted = eventually { (try? partners(pair.prison)["A81001"]?["manifest_version"] as? Int) == 2 }
        #expect(accepted, "\(pair.daemons[pair.prison]!.logText)")
        let trusted = try partners(pair.prison)["A81001"]

        let inbox = pair.mailboxes + "/YOI123"
        func post(_ text: String, version: Int) throws {
            try Data(text.utf8).write(to: URL(fileURLWithPath: "\(inbox)/.incoming"))
            #expect(rename("\(inbox)/.incoming", "\(inbox)/A81001.\(version).ghk") == 0)
            #expect(eventually { !FileManager.default.fileExists(atPath: "\(inbox)/A81001.\(version).ghk") }, "\(pair.daemons[pair.prison]!.logText)")
        }
        // Lower version (a rollback to version 1).
        try post(try String(contentsOfFile: v1, encoding: .utf8), version: 1)
        // Equal version, other content.
        try post(try String(contentsOfFile: fork + "/keys/identity.card", encoding: .utf8), version: 2)
        // A bad signature: the name changed after signing.
        let current = try String(contentsOfFile: pair.practice + "/keys/identity.card", encoding: .utf8)
        try post(current.replacingOccurrences(of: "manifest: 2", with: "manifest: 3"), version: 3)
        // A different root claiming the same organisation, with a high version.
        let impostor = pair.folder.appending("impostor")
        try pair.check(GatehouseProcess.run(["init", "--home", impostor, "--org", "A81001", "--name", "Riverside Medical Practice"]))
        var impostorCard = try String(contentsOfFile: impostor + "/keys/identity.card", encoding: .utf8)
        for _ in 0..<3 {
            try pair.check(GatehouseProcess.run(["identity", "set-mailbox", "--home", impostor, "dir:/elsewhere"]))
            impostorCard = try String(contentsOfFile: impostor + "/keys/identity.card", encoding: .utf8)
        }
        try post(impostorCard, version: 4)
        // The right root and a higher version, but already expired.
        let root = try KeyStore(home: GatehouseHome(path: pair.practice)).loadRootKey()
        let now = UInt64(Date().timeIntervalSince1970)
        let expired = try IdentityCard.make(
            org: ODSCode("A81001"), name: "Riverside Medical Practice", root: root,
            manifest: KeyManifest(version: 9, created: now - 3 * 86_400, expires: now - 86_400, keys: [
                ManifestKeyRecord(key: .signing(SigningSecretKey.generate().publicKey), from: now - 3 * 86_400, state: .current(until: now - 86_400)),
                ManifestKeyRecord(key: .encryption(AgreementSecretKey.generate().publicKey), from: now - 3 * 86_400, state: .current(until: now - 86_400)),
            ]))
        try post(expired.text, version: 9)
        // Not a card at all.
        try post("hello", version: 10)

        let refusals = try auditEvents(pair.prison).filter { $0["event"] as? String == "partner-manifest-refused" }.compactMap { $0["detail"] as? String }
        #expect(refusals == ["not-newer", "not-newer", "bad-signature", "different-root", "expired", "malformed"], "\(refusals)")
        let quarantined = pair.listing(pair.prison + "/spool/quarantine").filter { $0.hasPrefix("manifest-") }
        #expect(quarantined.count == 6)
        let reasons = quarantined.compactMap { try? String(contentsOfFile: "\(pair.prison)/spool/quarantine/\($0)/reason.txt", encoding: .utf8) }
        #expect(reasons.allSatisfy { $0.contains("stays in force") }, "\(reasons)")
        // The manifest trusted before is still the one in force, and records still flow.
        let still = try partners(pair.prison)["A81001"]
        #expect(still?["manifest_version"] as? Int == 2)
        #expect(still?["encryption_key_id"] as? String == trusted?["encryption_key_id"] as? String)
        #expect(still?["fingerprint"] as? String == trusted?["fingerprint"] as? String)
        try pair.drop("still.xml", Array("<letter/>".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] })
    }

    @Test func rootRotationWithAnOfflinePassphraseProtectedRootIsAcceptedByPartners() throws {
        let pair = try DaemonPair(viaRelay: true)
        let offline = pair.folder.appending("usb")
        try FileManager.default.createDirectory(atPath: offline, withIntermediateDirectories: true)
        let passphrase = pair.folder.appending("passphrase")
        try Data("correct horse battery staple\n".utf8).write(to: URL(fileURLWithPath: passphrase))
        try pair.check(GatehouseProcess.run(["keys", "protect-root", "--home", pair.practice, "--out", offline + "/root.key", "--passphrase-file", passphrase]))
        #expect(!FileManager.default.fileExists(atPath: pair.practice + "/keys/root.key"))
        try pair.start()
        let oldFingerprint = try partners(pair.prison)["A81001"]?["fingerprint"] as? String

        // Without the root key the card cannot change.
        let missing = try GatehouseProcess.run(["keys", "rotate", "--root", "--home", pair.practice])
        #expect(missing.status == 10 && missing.stderr.contains("--root-key"), "\(missing.stderr)")
        let rotated = try GatehouseProcess.run(["keys", "rotate", "--root", "--root-key", offline + "/root.key", "--passphrase-file", passphrase,
                                                "--home", pair.practice])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let newFingerprint = try #require(try keyStatus(pair.practice)["keys"].flatMap { ($0 as? [[String: Any]])?.first { $0["role"] as? String == "root" }?["fingerprint"] as? String })
        #expect(newFingerprint != oldFingerprint)
        #expect(rotated.stdout.contains(newFingerprint))
        // The prison pins the new root without a phone call, because the old one endorsed it.
        let pinned = eventually { (try? partners(pair.prison)["A81001"]?["fingerprint"] as? String) == newFingerprint }
        #expect(pinned, "\(pair.daemons[pair.prison]!.logText)")
        #expect(try auditEvents(pair.prison).contains { $0["event"] as? String == "partner-root-rotated" })
        #expect(try auditEvents(pair.practice).contains { $0["event"] as? String == "root-rotated" })
        // The new root replaced the old one in the offline file, behind the same passphrase:
        // it signs the next rotation, the old root's file content is gone.
        let again = try GatehouseProcess.run(["keys", "rotate", "--root-key", offline + "/root.key", "--passphrase-file", passphrase, "--home", pair.practice])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(eventually { (try? partners(pair.prison)["A81001"]?["manifest_version"] as? Int) == 3 })
        let wrong = pair.folder.appending("wrong")
        try Data("not the passphrase at all\n".utf8).write(to: URL(fileURLWithPath: wrong))
        let refused = try GatehouseProcess.run(["keys", "rotate", "--root-key", offline + "/root.key", "--passphrase-file", wrong, "--home", pair.practice])
        #expect(refused.status != 0)
        // Records flow both ways under the new root.
        try pair.drop("letter.xml", Array("<letter/>".utf8), from: pair.practice, to: "YOI123")
        try pair.drop("reply.xml", Array("<reply/>".utf8), from: pair.prison, to: "A81001")
        #expect(eventually(timeout: 60) { pair.states(pair.practice) == ["acknowledged"] && pair.states(pair.prison) == ["acknowledged"] },
                "\(pair.status(pair.practice)) \(pair.status(pair.prison))")
    }
}

@Suite("Key expiry warnings")
struct KeyExpiryWarningTests {
    @Test func warningsAppear30And7DaysAheadForOwnKeysAndStalePartners() throws {
        let pair = try DaemonPair()
        func status(_ home: String) throws -> [String: Any] {
            let out = try GatehouseProcess.run(["keys", "status", "--json", "--home", home])
            return try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any] ?? [:]
        }
        #expect(try status(pair.practice)["warnings"] as? [String] == [])
        #expect(try GatehouseProcess.run(["keys", "status", "--home", pair.practice]).stdout.contains("No warnings."))

        try pair.check(GatehouseProcess.run(["keys", "rotate", "--valid-for", "20d", "--home", pair.practice]))
        let month = try status(pair.practice)["warnings"] as? [String] ?? []
        #expect(month.count == 3 && month.allSatisfy { $0.contains("within 30 days") && $0.contains("gatehouse keys rotate") }, "\(month)")
        #expect(try GatehouseProcess.run(["status", "--home", pair.practice]).stdout.contains("WARNING: A81001's key manifest (version 2)"))

        try pair.check(GatehouseProcess.run(["keys", "rotate", "--valid-for", "5d", "--home", pair.practice]))
        let week = try status(pair.practice)["warnings"] as? [String] ?? []
        #expect(week.count == 3 && week.allSatisfy { $0.contains("within 7 days") }, "\(week)")

        // The prison receives version 3 and sees it as stale; its daemon logs the warning once.
        try pair.start()
        let received = eventually {
            let out = try? GatehouseProcess.run(["partners", "list", "--json", "--home", pair.prison])
            return out?.stdout.contains("\"manifest_version\" : 3") == true && out?.stdout.contains("\"stale\" : true") == true
        }
        #expect(received, "\(pair.daemons[pair.prison]!.logText)")
        let logged = eventually { pair.daemons[pair.prison]!.logText.contains("partner A81001's key manifest (version 3) is stale") }
        #expect(logged, "\(pair.daemons[pair.prison]!.logText)")
        #expect(try status(pair.prison)["warnings"].map { "\($0)" }?.contains("A81001") == true)
        #expect(pair.daemons[pair.practice]!.logText.components(separatedBy: "A81001's key manifest (version 3) expires").count == 2,
                "\(pair.daemons[pair.practice]!.logText)")
        for daemon in pair.daemons.values { #expect(daemon.stop() == 0) }
    }

    @Test func badArgumentsAreRefusedBeforeAnythingChanges() throws {
        let pair = try DaemonPair()
        let card = try String(contentsOfFile: pair.practice + "/keys/identity.card", encoding: .utf8)
        for arguments in [["keys", "rotate", "--grace", "soon"], ["keys", "rotate", "--valid-for", "10m"],
                          ["keys", "revoke", "0123456789abcdef", "--reason", "lost"], ["keys", "revoke", "xyz", "--reason", "compromised"],
                          ["keys", "revoke", "0123456789abcdef", "--reason", "compromised"],
                          ["keys", "rotate", "--new-root-key", pair.folder.appending("r.key")]] {
            let out = try GatehouseProcess.run(arguments + ["--home", pair.practice])
            #expect(out.status != 0 && !out.stderr.isEmpty, "\(arguments): \(out.stdout)")
        }
        let unknown = try GatehouseProcess.run(["keys", "revoke", "0123456789abcdef", "--reason", "compromised", "--home", pair.practice])
        #expect(unknown.stderr.contains("has no key 0123456789abcdef"), "\(unknown.stderr)")
        #expect(try String(contentsOfFile: pair.practice + "/keys/identity.card", encoding: .utf8) == card)
    }
}

@Suite("Root rotation crash safety")
struct RootRotationCrashTests {
    @Test func aRootRotationCutShortBeforeTheLastRenameIsFinishedByTheNextCommand() throws {
        let folder = try TemporaryDirectory()
        let home = folder.appending("home")
        #expect(try GatehouseProcess.run(["init", "--home", home, "--org", "A81001", "--name", "Riverside Medical Practice"]).status == 0)
        let keys = home + "/keys"
        let oldRoot = try Data(contentsOf: URL(fileURLWithPath: keys + "/root.key"))
        let rotated = try GatehouseProcess.run(["keys", "rotate", "--root", "--home", home])
        #expect(rotated.status == 0, "\(rotated.stderr)")
        // The state a crash between writing the card and the final rename leaves: the card names
        // the new root, which still waits under root.key.new; root.key holds the old root.
        #expect(rename(keys + "/root.key", keys + "/root.key.new") == 0)
        try oldRoot.write(to: URL(fileURLWithPath: keys + "/root.key"))
        chmod(keys + "/root.key", 0o600)
        let next = try GatehouseProcess.run(["keys", "rotate", "--home", home])
        #expect(next.status == 0, "\(next.stderr)")
        #expect(!FileManager.default.fileExists(atPath: keys + "/root.key.new"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: keys + "/root.key")) != oldRoot)
        #expect(try GatehouseProcess.run(["identity", "show", "--home", home]).status == 0)

        // With --new-root-key the old root file is destroyed, and an existing file is never overwritten.
        let offline = folder.appending("offline.key")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: offline))
        let refused = try GatehouseProcess.run(["keys", "rotate", "--root", "--new-root-key", offline, "--home", home])
        #expect(refused.status != 0 && refused.stderr.contains("already exists"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: offline, encoding: .utf8) == "keep me")
        let moved = folder.appending("moved.key")
        #expect(try GatehouseProcess.run(["keys", "rotate", "--root", "--new-root-key", moved, "--home", home]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: keys + "/root.key"))
        #expect(try GatehouseProcess.run(["keys", "rotate", "--root-key", moved, "--home", home]).status == 0)
    }
}
