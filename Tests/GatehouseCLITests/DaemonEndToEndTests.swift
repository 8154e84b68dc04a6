import Foundation
import Glibc
import GatehouseFormat
import GatehouseTesting
import Testing

/// Two real `gatehouse run` daemons (a practice and a prison) over a mailbox folder, or over a
/// `gatehouse relay` (a real sshd on loopback) when `viaRelay`.
final class DaemonPair {
    let folder: TemporaryDirectory
    let practice: String
    let prison: String
    let mailboxes: String
    /// The relay's folder, when the pair exchanges through one.
    let relay: String?
    var daemons: [String: DaemonProcess] = [:]
    var relayProcess: DaemonProcess?

    /// With `prisonPinsPractice` false the prison has not added the practice's card (the
    /// practice has the prison's, and both are on the relay).
    init(prisonHomeIn base: String? = nil, viaRelay: Bool = false, prisonPinsPractice: Bool = true,
         pollInterval: String = "100ms") throws {
        folder = try TemporaryDirectory()
        practice = folder.path + "/practice"
        prison = (base ?? folder.path) + "/prison"
        let address: String
        if viaRelay {
            let relay = folder.appending("relay")
            self.relay = relay
            mailboxes = relay + "/mailboxes"
            let port = try SSHServer.freePort()
            let created = try GatehouseProcess.run(["relay", "init", "--home", relay, "--listen", "127.0.0.1:\(port)"])
            guard created.status == 0 else { throw GatehouseProcess.LaunchError(description: "relay init failed: \(created.stderr)") }
            address = try GatehouseProcess.run(["relay", "address", "--home", relay]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            relay = nil
            mailboxes = folder.appending("mailboxes")
            try FileManager.default.createDirectory(atPath: mailboxes, withIntermediateDirectories: true)
            address = "dir:\(mailboxes)"
        }
        for (home, org, name) in [(practice, "A81001", "Riverside Medical Practice"), (prison, "YOI123", "HMP Northgate Healthcare")] {
            try check(GatehouseProcess.run(["init", "--home", home, "--org", org, "--name", name, "--mailbox", address]))
            // Short intervals so the tests take seconds.
            var config = try String(contentsOfFile: home + "/gatehouse.toml", encoding: .utf8)
            for (key, value) in [("poll_interval", pollInterval), ("stable_window", "300ms"), ("retry_max", "1s"), ("rescan_interval", "1s"), ("breaker_cooldown", "2s")] {
                config = config.replacingOccurrences(of: #"(?m)^\#(key) = .*$"#, with: "\(key) = \"\(value)\"", options: .regularExpression)
            }
            try config.write(toFile: home + "/gatehouse.toml", atomically: true, encoding: .utf8)
        }
        for (from, to) in [(practice, prison), (prison, practice)] {
            let card = folder.appending("card-\(UUID().uuidString)")
            try check(GatehouseProcess.run(["identity", "export", "--home", from, "-o", card]))
            if to != prison || prisonPinsPractice { try check(GatehouseProcess.run(["partners", "add", "--home", to, card, "--yes"])) }
            if let relay { try check(GatehouseProcess.run(["relay", "add", "--home", relay, card, "--yes"])) }
        }
    }

    /// Starts (or restarts) the relay's sshd and waits until it accepts connections.
    func startRelay() throws {
        guard let relay else { return }
        relayProcess = try DaemonProcess(home: relay, command: ["relay", "run"])
        let port = Int(try String(contentsOfFile: relay + "/relay.toml", encoding: .utf8)
            .components(separatedBy: "listen = \"127.0.0.1:")[1].prefix { $0.isNumber })!
        guard eventually(timeout: 10, { SSHServer.accepts(port) }) else {
            throw GatehouseProcess.LaunchError(description: "the relay did not start: \(relayProcess?.logText ?? "")")
        }
    }

    func check(_ output: ProcessOutput) throws {
        guard output.status == 0 else { throw GatehouseProcess.LaunchError(description: "gatehouse failed: \(output.stderr)") }
    }

    func start() throws {
        if relayProcess == nil { try startRelay() }
        daemons[practice] = try DaemonProcess(home: practice)
        daemons[prison] = try DaemonProcess(home: prison)
    }

    /// Drops a record the way producers should: written under a dot-name, then renamed in.
    func drop(_ name: String, _ bytes: [UInt8], from home: String, to partner: String) throws {
        let outbox = "\(home)/spool/outbox/\(partner)"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        try writeClosed(bytes, to: "\(outbox)/.\(UUID().uuidString).part")
        let part = try FileManager.default.contentsOfDirectory(atPath: outbox).first { $0.hasSuffix(".part") }!
        guard rename("\(outbox)/\(part)", "\(outbox)/\(name)") == 0 else { throw GatehouseProcess.LaunchError(description: "rename failed") }
    }

    func status(_ home: String) -> [[String: Any]] {
        guard let out = try? GatehouseProcess.run(["status", "--home", home, "--json"]), out.status == 0 else { return [] }
        return (try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [[String: Any]] ?? []
    }

    /// The state of every record sent from `home`, one entry per file (records waiting together
    /// travel in one bundle), newest bundle first.
    func states(_ home: String) -> [String] {
        status(home).flatMap { bundle in
            Array(repeating: bundle["state"] as? String ?? "?", count: max(1, (bundle["files"] as? [Any])?.count ?? 1))
        }
    }

    /// How many files the bundles `inbox --json` lists hold.
    func inboxFiles(_ home: String) -> Int { inbox(home).reduce(0) { $0 + (($1["files"] as? [Any])?.count ?? 0) } }

    /// Every file under `folder`'s subfolders (spool/sent/<bundle id>/…).
    func filesBelow(_ folder: String) -> [String] { listing(folder).flatMap { listing("\(folder)/\($0)") } }

    func inbox(_ home: String) -> [[String: Any]] {
        guard let out = try? GatehouseProcess.run(["inbox", "--home", home, "--json"]), out.status == 0 else { return [] }
        return (try? JSONSerialization.jsonObject(with: Data(out.stdout.utf8))) as? [[String: Any]] ?? []
    }

    /// Every received file's name and bytes under `home`'s received/<sender>/.
    func received(_ home: String, from sender: String) -> [String: [UInt8]] {
        var found: [String: [UInt8]] = [:]
        let base = "\(home)/spool/received/\(sender)"
        for bundle in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(base)/\(bundle)")) ?? [] where !name.hasPrefix(".") {
                found[name] = (try? Data(contentsOf: URL(fileURLWithPath: "\(base)/\(bundle)/\(name)"))).map(Array.init)
            }
        }
        return found
    }

    func listing(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
}

@Suite("gatehouse run: two daemons end to end", .serialized)
struct DaemonEndToEndTests {
    @Test(arguments: [false, true])
    func recordsTravelBothWaysAndAreAcknowledged(viaRelay: Bool) throws {
        let pair = try DaemonPair(viaRelay: viaRelay)
        try pair.start()
        let toPrison: [String: [UInt8]] = [
            "summary.xml": Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8),
            "discharge letter.pdf": (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) },
            "empty.txt": [],
            "notes é ünïcode.txt": Array("réadmission".utf8),
        ]
        let toPractice: [String: [UInt8]] = ["release summary.xml": Array("<release nhs=\"9990000026\"/>".utf8), "meds.csv": Array("drug,dose\n".utf8)]
        for (name, bytes) in toPrison { try pair.drop(name, bytes, from: pair.practice, to: "YOI123") }
        for (name, bytes) in toPractice { try pair.drop(name, bytes, from: pair.prison, to: "A81001") }
        // A control character can never be in a published name (FORMAT.md §3.7): refused with a reason.
        try pair.drop("line\nbreak.txt", [1], from: pair.practice, to: "YOI123")
        let done = eventually {
            pair.states(pair.practice) == Array(repeating: "acknowledged", count: toPrison.count)
                && pair.states(pair.prison) == Array(repeating: "acknowledged", count: toPractice.count)
        }
        #expect(done, "practice: \(pair.status(pair.practice))\nprison: \(pair.status(pair.prison))\n\(pair.daemons[pair.practice]!.logText)")
        #expect(pair.received(pair.prison, from: "A81001") == toPrison)
        #expect(pair.received(pair.practice, from: "YOI123") == toPractice)
        let failed = pair.listing(pair.practice + "/spool/failed")
        #expect(failed.count == 1)
        let reason = (try? String(contentsOfFile: pair.practice + "/spool/failed/\(failed.first ?? "")/reason.txt", encoding: .utf8)) ?? ""
        #expect(reason.contains("control character"), "\(reason)")
        #expect(pair.inboxFiles(pair.prison) == toPrison.count, "\(pair.inbox(pair.prison))")
        // Originals kept in sent/ once acknowledged; nothing left in work/ or the mailboxes.
        #expect(pair.filesBelow(pair.practice + "/spool/sent").sorted() == toPrison.keys.sorted())
        #expect(pair.listing(pair.practice + "/spool/work/out").isEmpty)
        #expect(pair.listing(pair.mailboxes + "/YOI123").isEmpty && pair.listing(pair.mailboxes + "/A81001").isEmpty)
        // Graceful shutdown on SIGTERM.
        #expect(pair.daemons[pair.practice]?.stop() == 0)
        #expect(pair.daemons[pair.prison]?.stop() == 0)
        #expect(pair.daemons[pair.practice]!.logText.contains("stopped"))
        try checkAuditLogs(pair, sent: pair.status(pair.practice).count, received: pair.status(pair.prison).count)
    }

    /// A `dir:` mailbox is watched with inotify: with the collectors polling only every ten
    /// minutes, a record and its receipt still cross the shared folder within the test's wait.
    @Test func aSharedFolderMailboxDeliversWithoutWaitingForThePoll() throws {
        let pair = try DaemonPair(pollInterval: "10m")
        try pair.start()
        try pair.drop("summary.xml", Array("<summary nhs=\"9990000018\"/>".utf8), from: pair.practice, to: "YOI123")
        let done = eventually { pair.states(pair.practice) == ["acknowledged"] }
        #expect(done, "practice: \(pair.status(pair.practice))\n\(pair.daemons[pair.practice]!.logText)")
        #expect(pair.received(pair.prison, from: "A81001").keys.sorted() == ["summary.xml"])
    }

    /// Both audit logs verify, record every bundle's steps, hold no file names, and any edit is caught.
    func checkAuditLogs(_ pair: DaemonPair, sent: Int, received: Int) throws {
        for home in [pair.practice, pair.prison] {
            let verified = try GatehouseProcess.run(["audit", "verify", "--home", home])
            #expect(verified.status == 0, "\(verified.stderr)")
            #expect(verified.stdout.contains("intact"))
        }
        let events = try GatehouseProcess.run(["audit", "show", "--home", pair.practice, "--json"]).stdout
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let kinds = events.compactMap { $0["event"] as? String }
        #expect(kinds.first == "keys-created" && kinds.contains("partner-added"))
        for kind in ["bundle-sealed", "bundle-delivered", "receipt-verified"] { #expect(kinds.filter { $0 == kind }.count == sent, "\(kind): \(kinds)") }
        #expect(kinds.filter { $0 == "bundle-received" }.count == received && kinds.filter { $0 == "receipt-sent" }.count == received)
        #expect(kinds.last == "checkpoint")
        let text = try String(contentsOfFile: pair.practice + "/audit/audit.jsonl", encoding: .utf8)
        #expect(!text.contains("summary.xml") && !text.contains("9990000018") && !text.contains("Testperson"))
        // One changed character is detected.
        try text.replacingOccurrences(of: "\"YOI123\"", with: "\"YOI124\"").write(toFile: pair.practice + "/audit/audit.jsonl", atomically: true, encoding: .utf8)
        let tampered = try GatehouseProcess.run(["audit", "verify", "--home", pair.practice])
        #expect(tampered.status == 8, "\(tampered.stdout)\(tampered.stderr)")
        #expect(tampered.stderr.contains("tampered"))
    }

    /// Records waiting together for one partner travel in one bundle, but `Report.pdf` and
    /// `report.pdf` (or `STRASSE.txt` and `straße.txt`) may not share one (FORMAT.md §3.7): such
    /// a bundle could never be sealed, was retried until it expired, and nothing was delivered.
    @Test func recordsWhoseNamesDifferOnlyInCaseAreAllDelivered() throws {
        let pair = try DaemonPair()
        let records: [String: [UInt8]] = [
            "Report.pdf": Array("%PDF discharge 9990000018".utf8), "report.pdf": Array("%PDF referral 9990000026".utf8),
            "STRASSE.txt": Array("Hauptstrasse 1".utf8), "straße.txt": Array("Hauptstraße 1".utf8),
        ]
        // Waiting before the daemon starts: all four are claimed together.
        for (name, bytes) in records { try pair.drop(name, bytes, from: pair.practice, to: "YOI123") }
        try pair.start()
        let done = eventually { pair.states(pair.practice) == Array(repeating: "acknowledged", count: records.count) }
        #expect(done, "\(pair.status(pair.practice))\n\(pair.daemons[pair.practice]!.logText)")
        #expect(pair.received(pair.prison, from: "A81001") == records)
        // Two bundles at least, none holding two names that fold alike.
        let bundles = pair.status(pair.practice).map { ($0["files"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
        #expect(bundles.count >= 2, "\(bundles)")
        for names in bundles { #expect(Set(names.map(FileNameRule.caseFoldKey)).count == names.count, "\(names)") }
        #expect(pair.listing(pair.practice + "/spool/failed").isEmpty)
    }

    @Test func aRelayDownForAWhileDelaysButLosesNothingWithoutARetryStorm() throws {
        let pair = try DaemonPair(viaRelay: true)
        try pair.start()
        try pair.drop("first.xml", Array("<record nhs=\"9990000034\"/>".utf8), from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] })
        // The relay's sshd and every session die at once.
        pair.relayProcess?.crashTree()
        let records = (1...3).map { ("while-down-\($0).xml", Array("<record nhs=\"999000004\($0)\"/>".utf8)) }
        for (name, bytes) in records { try pair.drop(name, bytes, from: pair.practice, to: "YOI123") }
        sleep(6)
        let log = pair.daemons[pair.practice]!.logText
        let attempts = log.components(separatedBy: "\n").filter { $0.contains("connecting to relay") && $0.contains("failed") }
        // Two sessions (the prison's mailbox and the own one), each waiting between half and all
        // of its backoff (retry_initial 1 s doubling, capped by this pair's retry_max of 1 s)
        // before trying again: never two attempts of one session within half a second.
        #expect(!attempts.isEmpty && attempts.count <= 2 * (6 * 2 + 1), "\(attempts.count) failed connection attempts in 6 s:\n\(attempts.joined(separator: "\n"))")
        for session in ["partner=YOI123", "partner=A81001"] {
            let times = attempts.filter { $0.contains(session) }.compactMap(logMilliseconds)
            let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
            #expect(gaps.allSatisfy { $0 >= 450 }, "\(session): attempts \(gaps) ms apart")
        }
        #expect(attempts.contains { $0.contains("refused the connection") }, "\(attempts)")
        #expect(pair.states(pair.practice).filter { $0 == "acknowledged" }.count == 1)
        try pair.startRelay()
        let recovered = eventually(timeout: 90) { pair.states(pair.practice) == Array(repeating: "acknowledged", count: 4) }
        #expect(recovered, "\(pair.status(pair.practice))\n\(pair.daemons[pair.practice]!.logText)")
        #expect(pair.received(pair.prison, from: "A81001").count == 4)
        #expect(pair.listing(pair.mailboxes + "/YOI123").isEmpty)
    }

    @Test func badInputsAreRefusedWithReasonsAndNothingIsLost() throws {
        let pair = try DaemonPair()
        try pair.start()
        // A symbolic link in the outbox, a record for an unknown partner, a file in outbox/ itself.
        let secret = pair.folder.appending("secret.txt")
        try Data("not for sending".utf8).write(to: URL(fileURLWithPath: secret))
        try FileManager.default.createDirectory(atPath: pair.practice + "/spool/outbox/YOI123", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: pair.practice + "/spool/outbox/YOI123/link.txt", withDestinationPath: secret)
        try pair.drop("stranger.txt", [1, 2, 3], from: pair.practice, to: "ZZZ999")
        try Data([4]).write(to: URL(fileURLWithPath: pair.practice + "/spool/outbox/stray.txt"))
        // A file still being written, in pieces, without a rename: claimed only once it stops growing.
        let slow = pair.practice + "/spool/outbox/YOI123/slow.txt"
        let handle = FileHandle(forWritingAtPath: { _ = FileManager.default.createFile(atPath: slow, contents: nil); return slow }())!
        var written: [UInt8] = []
        for i in 0..<8 {
            let piece = Array("piece \(i) of a slowly written export\n".utf8)
            handle.write(Data(piece))
            written += piece
            usleep(150_000)
        }
        try handle.close()
        let refusedAll = eventually { pair.listing(pair.practice + "/spool/failed").count == 3 }
        #expect(refusedAll, "\(pair.listing(pair.practice + "/spool/failed"))")
        let reasons = pair.listing(pair.practice + "/spool/failed").compactMap {
            try? String(contentsOfFile: pair.practice + "/spool/failed/\($0)/reason.txt", encoding: .utf8)
        }.joined(separator: "\n")
        #expect(reasons.contains("symbolic link"))
        #expect(reasons.contains("ZZZ999 is not a known partner"))
        #expect(reasons.contains("outbox/<ODS>/"))
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "not for sending")
        let slowArrived = eventually { pair.received(pair.prison, from: "A81001")["slow.txt"] != nil }
        #expect(slowArrived)
        #expect(pair.received(pair.prison, from: "A81001")["slow.txt"] == written)
    }

    @Test func tamperedAndReplayedBundlesInTheMailboxAreHandled() throws {
        let pair = try DaemonPair()
        // A bundle sealed by the practice but changed in transit, put straight into the prison's mailbox.
        let record = pair.folder.appending("a.txt")
        try Data(Array(repeating: 65, count: 10_000)).write(to: URL(fileURLWithPath: record))
        let bundle = pair.folder.appending("b.ghb")
        let sealed = try GatehouseProcess.run(["seal", "--home", pair.practice, "--to", "YOI123", "-o", bundle, record])
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let id = sealed.stdout.components(separatedBy: "bundle id:").last!.trimmingCharacters(in: .whitespaces).prefix(32)
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: bundle)))
        bytes[bytes.count / 2] ^= 1
        try FileManager.default.createDirectory(atPath: pair.mailboxes + "/YOI123", withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: pair.mailboxes + "/YOI123/\(id).ghb"))
        try pair.start()
        let rejected = eventually { pair.inbox(pair.prison).first?["state"] as? String == "rejected" }
        #expect(rejected, "\(pair.inbox(pair.prison))\n\(pair.daemons[pair.prison]?.logText ?? "no daemon")")
        #expect((pair.inbox(pair.prison).first?["reason"] as? String)?.contains("authentication-failed") == true)
        #expect(pair.listing(pair.prison + "/spool/received/A81001").isEmpty)
        let reason = try String(contentsOfFile: pair.prison + "/spool/quarantine/\(id)/reason.txt", encoding: .utf8)
        #expect(reason.contains("REFUSED"))
        // The genuine bundle arrives afterwards under the same id: a duplicate id is answered with
        // the original (failed) receipt and is never published.
        try Data(contentsOf: URL(fileURLWithPath: bundle)).write(to: URL(fileURLWithPath: pair.mailboxes + "/YOI123/\(id).ghb"))
        let consumed = eventually { pair.listing(pair.mailboxes + "/YOI123").isEmpty }
        #expect(consumed)
        #expect(pair.listing(pair.prison + "/spool/received/A81001").isEmpty)
        #expect(pair.inbox(pair.prison).count == 1)
        // The failed receipt reached the practice once (which quarantines it: its daemon never
        // sent this hand-sealed bundle). The duplicate is not answered again within 10 minutes:
        // a refusal made before the sender was proven (authentication-failed) is answered
        // sparingly, since anyone can put junk in a mailbox under a partner's name.
        let quarantine = pair.practice + "/spool/quarantine"
        let answered = eventually { pair.listing(quarantine).filter { $0.hasPrefix("receipt-") }.count == 1 }
        #expect(answered, "\(pair.listing(quarantine))")
        let receipt = eventually {
            pair.listing(quarantine).filter { $0.hasPrefix("receipt-") }.contains {
                FileManager.default.fileExists(atPath: "\(quarantine)/\($0)/\(id).YOI123.ghr")
            }
        }
        #expect(receipt)
        usleep(1_500_000)
        #expect(pair.listing(quarantine).filter { $0.hasPrefix("receipt-") }.count == 1, "\(pair.listing(quarantine))")
        #expect(pair.listing(pair.mailboxes + "/A81001").isEmpty)
    }

    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aFullDiskDelaysButLosesNothing() throws {
        // The prison's whole home on a 1.5 MiB file system: its keys and journal fit, a 2 MB record does not.
        // (Random-looking bytes, so the bundle does not compress below the limit either.)
        let mount = try TemporaryDirectory(prefix: "gatehouse-fulldisk")
        guard Glibc.mount("tmpfs", mount.path, "tmpfs", 0, "size=1536k,mode=0700") == 0 else {
            Issue.record("mount failed: \(String(cString: strerror(errno)))")
            return
        }
        defer { umount2(mount.path, Int32(MNT_DETACH)) }
        let pair = try DaemonPair(prisonHomeIn: mount.path)
        try pair.start()
        var generator = SystemRandomNumberGenerator()
        let big = (0..<2_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try pair.drop("scan.pdf", big, from: pair.practice, to: "YOI123")
        // The bundle is delivered, but the prison cannot publish it: the error is logged, the bundle
        // waits in the mailbox, the record stays delivered and unacknowledged.
        let logged = eventually(timeout: 20) { pair.daemons[pair.prison]!.logText.contains("No space left") }
        #expect(logged, "\(pair.daemons[pair.prison]!.logText)")
        #expect(pair.states(pair.practice) == ["delivered"])
        #expect(pair.received(pair.prison, from: "A81001").isEmpty)
        guard Glibc.mount("tmpfs", mount.path, "tmpfs", UInt(MS_REMOUNT), "size=64m,mode=0700") == 0 else {
            Issue.record("remount failed: \(String(cString: strerror(errno)))")
            return
        }
        let arrived = eventually(timeout: 30) { pair.states(pair.practice) == ["acknowledged"] }
        #expect(arrived, "\(pair.status(pair.practice))")
        #expect(pair.received(pair.prison, from: "A81001")["scan.pdf"] == big)
        pair.daemons.values.forEach { $0.stop() }
    }
}

/// The time at the start of a log line (`2026-11-25T09:30:00.125Z info …`), in ms since 1970.
func logMilliseconds(_ line: String) -> Int64? {
    let stamp = line.prefix { $0 != " " }
    guard let dot = stamp.firstIndex(of: "."), stamp.hasSuffix("Z"),
          let seconds = RFC3339.parse(String(stamp[..<dot]) + "Z"),
          let milliseconds = Int64(stamp[stamp.index(after: dot)...].dropLast()) else { return nil }
    return Int64(seconds) * 1000 + milliseconds
}
