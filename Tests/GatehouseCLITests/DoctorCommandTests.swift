import Foundation
import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// Whether this process may mount a small tmpfs (root with CAP_SYS_ADMIN): needed to seed a full disk.
let canMountTmpfs: Bool = {
    guard let folder = try? TemporaryDirectory() else { return false }
    guard (try? GatehouseProcess.runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", folder.path]))?.status == 0 else { return false }
    _ = try? GatehouseProcess.runProgram("/bin/umount", [folder.path])
    return true
}()

@Suite("gatehouse doctor", .serialized)
struct DoctorCommandTests {
    func doctor(_ home: String, _ extra: [String] = []) throws -> ProcessOutput {
        try GatehouseProcess.run(["doctor", "--home", home] + extra)
    }

    @Test func aHealthyHomePasses() throws {
        let pair = try DaemonPair()
        let out = try doctor(pair.practice)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        for check in ["key files", "configuration", "identity", "partner YOI123", "mailbox A81001,YOI123", "clock skew"] {
            #expect(out.stdout.contains("OK       \(check): "), "\(check): \(out.stdout)")
        }
        #expect(out.stdout.contains("clock skew: within 60 s of the file system of \(pair.mailboxes)"))
        let json = try doctor(pair.practice, ["--json"])
        let findings = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: String]])
        #expect(findings.contains { $0["check"] == "key files" && $0["level"] == "OK" })
        #expect(findings.allSatisfy { $0["level"] != "PROBLEM" })
    }

    @Test func throughARunningRelayTheClockIsComparedWithTheRelays() throws {
        let pair = try DaemonPair(viaRelay: true)
        try pair.startRelay()
        let out = try doctor(pair.practice)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        // Logged in with the own key and the pinned host key, listed, a probe made in each mailbox.
        #expect(out.stdout.contains("OK       mailbox A81001: logged in to the relay 127.0.0.1:"), "\(out.stdout)")
        #expect(out.stdout.contains("A81001's mailbox lists (0 item(s)) and took a probe file"), "\(out.stdout)")
        #expect(out.stdout.contains("OK       mailbox YOI123: logged in to the relay 127.0.0.1:"), "\(out.stdout)")
        #expect(out.stdout.contains("YOI123's mailbox took, from A81001, a probe file"), "\(out.stdout)")
        #expect(out.stdout.contains("OK       clock skew: within 60 s of the relay 127.0.0.1:"), "\(out.stdout)")
        // The probe file is gone: nothing is left in the mailbox, not even a dot-name.
        #expect(pair.listing(pair.mailboxes + "/A81001").isEmpty)
        #expect(pair.listing(pair.mailboxes + "/YOI123").isEmpty)
    }

    @Test func eachSeededProblemIsReported() throws {
        // Through a relay that is not running: every mailbox is unreachable.
        let pair = try DaemonPair(viaRelay: true)
        // A secret key anyone on the machine can read.
        let keys = pair.practice + "/keys"
        let signing = try #require(try FileManager.default.contentsOfDirectory(atPath: keys).first { $0.hasPrefix("signing-") })
        #expect(chmod("\(keys)/\(signing)", 0o644) == 0)
        // The prison's card, pinned at the practice, replaced by one (properly signed) that expired yesterday.
        let root = try KeyStore(home: GatehouseHome(path: pair.prison)).loadRootKey()
        let now = UInt64(Date().timeIntervalSince1970)
        let current = try KeyStore(home: GatehouseHome(path: pair.prison)).loadOwnCard()
        let expired = try IdentityCard.make(
            org: ODSCode("YOI123"), name: "HMP Northgate Healthcare", root: root,
            manifest: KeyManifest(version: 2, created: now - 3 * 86_400, expires: now - 86_400, keys: [
                ManifestKeyRecord(key: .signing(SigningSecretKey.generate().publicKey), from: now - 3 * 86_400, state: .current(until: now - 86_400)),
                ManifestKeyRecord(key: .encryption(AgreementSecretKey.generate().publicKey), from: now - 3 * 86_400, state: .current(until: now - 86_400)),
            ]), mailbox: current.mailbox)
        try expired.text.write(toFile: PartnerStore(home: GatehouseHome(path: pair.practice)).cardPath(for: ODSCode("YOI123")), atomically: true, encoding: .utf8)

        let out = try doctor(pair.practice, ["--timeout", "2"])
        #expect(out.status == 16, "\(out.stdout)\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        func line(_ prefix: String) -> String { lines.first { $0.hasPrefix(prefix) } ?? "(none in \(out.stdout))" }
        #expect(line("PROBLEM  key files: ").contains("\(keys)/\(signing) can be read by every user on this machine (mode 644): a secret key must be private — chmod 600 \(keys)/\(signing)"))
        #expect(line("PROBLEM  partner YOI123: ").contains("the card of YOI123 (HMP Northgate Healthcare, manifest version 2) expired at "))
        #expect(line("PROBLEM  partner YOI123: ").contains("ask YOI123 to run `gatehouse keys rotate`"))
        #expect(line("PROBLEM  mailbox A81001,YOI123: ").contains("cannot reach the relay 127.0.0.1:"))
        #expect(line("PROBLEM  mailbox A81001,YOI123: ").contains("Connection refused — check that the relay is running"))
        #expect(line("WARNING  clock skew: ").contains("not measured"))
        #expect(out.stdout.hasSuffix("3 problem(s), 1 warning(s).\n"))
    }

    /// The relay's first line went to the terminal as it came (after "SSH-", or with only its
    /// control characters escaped): a terminal escape or a bidirectional override in it was
    /// the relay's to write on the operator's screen.
    @Test func aRelaysGreetingIsShownEscaped() throws {
        let pair = try DaemonPair(viaRelay: true)
        let relay = try #require(pair.relay)
        let port = try #require(Int(try String(contentsOfFile: relay + "/relay.toml", encoding: .utf8)
            .components(separatedBy: "listen = \"127.0.0.1:")[1].prefix { $0.isNumber }))
        let greetings: [(banner: String, shown: String)] = [
            ("SSH-2.0-Gate\u{1B}]0;pwned\u{7}\u{202E}house", "answers (\"SSH-2.0-Gate\\u{1B}]0;pwned\\u{7}\\u{202E}house\")"),
            ("HTTP/1.1 200 \u{202E}KO", "is not an SSH server (it said \"HTTP/1.1 200 \\u{202E}KO\")"),
        ]
        for greeting in greetings {
            let server = try BannerServer(port: port, banner: Array((greeting.banner + "\r\n").utf8))
            defer { server.stop() }
            let out = try doctor(pair.practice, ["--timeout", "2"])
            #expect(out.stdout.contains(greeting.shown), "\(out.stdout)")
            for text in [out.stdout, out.stderr] {
                #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{7}" || $0 == "\u{202E}" }, "\(text.debugDescription)")
            }
        }
    }

    @Test(.enabled(if: canMountTmpfs, "mounting a 1 MiB tmpfs needs root with CAP_SYS_ADMIN"))
    func aFullDiskIsReported() throws {
        let pair = try DaemonPair()
        let spool = pair.practice + "/spool"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        #expect(try GatehouseProcess.runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", spool]).status == 0)
        defer { _ = try? GatehouseProcess.runProgram("/bin/umount", [spool]) }
        let out = try doctor(pair.practice)
        #expect(out.status == 16)
        #expect(out.stdout.contains("PROBLEM  disk space: "), "\(out.stdout)")
        #expect(out.stdout.contains("MiB free of 1.0 MiB") && out.stdout.contains("at \(spool): records cannot be sealed or received — free space there"), "\(out.stdout)")
    }

    @Test func badInputIsRefused() throws {
        let missing = try doctor("/nonexistent/gatehouse-home")
        #expect(missing.status == 10)
        #expect(missing.stderr.contains("/nonexistent/gatehouse-home is not a folder"))
        #expect(try doctor("/tmp", ["--timeout", "0"]).status == 64)
    }
}
