import Foundation
import GatehouseTesting
import Testing

/// End-to-end tests of `seal`, `open` and `inspect`, through the built binary, between a GP
/// practice (A81001) and a prison healthcare team (YOI123); XHM01 is a third party.
@Suite("gatehouse seal, open and inspect (end to end)")
struct BundleCommandsTests {
    let folder: TemporaryDirectory
    let practice: String
    let prison: String
    let outsider: String

    init() throws {
        folder = try TemporaryDirectory()
        practice = folder.appending("practice")
        prison = folder.appending("prison")
        outsider = folder.appending("outsider")
        for (home, org, name) in [(practice, "A81001", "Riverside Medical Practice"), (prison, "YOI123", "HMP Northgate Healthcare"),
                                  (outsider, "XHM01", "Elsewhere Health")] {
            let result = try GatehouseProcess.run(["init", "--home", home, "--org", org, "--name", name])
            #expect(result.status == 0, "\(result.stderr)")
        }
        try exchange(practice, prison)
    }

    func exchange(_ a: String, _ b: String) throws {
        for (from, to) in [(a, b), (b, a)] {
            let card = folder.appending("card-\(UUID().uuidString)")
            #expect(try GatehouseProcess.run(["identity", "export", "--home", from, "-o", card]).status == 0)
            #expect(try GatehouseProcess.run(["partners", "add", "--home", to, card, "--yes"]).status == 0)
        }
    }

    @discardableResult
    func gatehouse(_ arguments: [String]) throws -> ProcessOutput { try GatehouseProcess.run(arguments) }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = folder.appending(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func sealed(_ files: [String], to: String = "YOI123", extra: [String] = []) throws -> String {
        let out = folder.appending("bundle-\(UUID().uuidString).ghb")
        let result = try gatehouse(["seal", "--home", practice, "--to", to, "-o", out] + extra + files)
        #expect(result.status == 0, "\(result.stderr)")
        return out
    }

    /// Files in `path`, or nil when it does not exist.
    func listing(_ path: String) -> [String]? { try? FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    /// Nothing was left beside an output folder: no staging folders, no temporary files.
    func noLeftovers() -> Bool { (listing(folder.path) ?? []).allSatisfy { !$0.contains("gatehouse-staging") && !$0.hasPrefix(".tmp-") } }

    @Test func aNameStartingWithACombiningMarkIsPublishedUnderThatName() throws {
        // "/" and U+0301 form one Character: the output path was once cut at the wrong slash.
        let name = "\u{301}abc"
        let bundle = try sealed([try write(name, Array("hello".utf8))])
        let out = folder.appending("received")
        let opened = try gatehouse(["open", "--home", prison, bundle, "-o", out])
        #expect(opened.status == 0, "\(opened.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out).map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(names == [".gatehouse-manifest.ghm", ".gatehouse-manifest.json", name].map { Array($0.utf8) })
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(name)"))) == Array("hello".utf8))
        #expect(noLeftovers())
    }

    @Test func lookAlikeNamesAreRefusedBySeal() throws {
        for names in [["report\u{202E}fdp.exe"], ["summary\u{200B}.xml"], ["cafe\u{301}.txt"], ["Report.pdf", "report.pdf"]] {
            let inputs = try names.map { try write($0, Array("x".utf8)) }
            let result = try gatehouse(["seal", "--home", practice, "--to", "YOI123", "-o", folder.appending("refused.ghb")] + inputs)
            #expect(result.status == 12, "\(names): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder.appending("refused.ghb")))
            for input in inputs { try FileManager.default.removeItem(atPath: input) }
        }
    }

    @Test func roundTripPublishesIdenticalBytesWithManifest() throws {
        var random = SystemRandomNumberGenerator()
        let big = (0..<3_000_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        let text = Array(String(repeating: "<entry nhs=\"9990000018\">Metformin 500mg twice daily</entry>\n", count: 20_000).utf8)
        let inputs = [try write("scan 1.pdf", big), try write("summary é.xml", text), try write("empty.txt", [])]
        let bundle = try sealed(inputs, extra: ["--subject", "Reception screening", "--nhs-number", "999 000 0018",
                                                "--nhs-number", "9990000026", "--workflow", "reception-summary"])
        let out = folder.appending("received")
        let opened = try gatehouse(["open", "--home", prison, bundle, "-o", out])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(opened.stdout.contains("Verified bundle"))
        for (name, bytes) in [("scan 1.pdf", big), ("summary é.xml", text), ("empty.txt", [])] {
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(name)"))) == bytes, "\(name)")
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/.gatehouse-manifest.json"))) as? [String: Any]
        #expect(manifest?["sender"] as? String == "A81001")
        #expect(manifest?["subject"] as? String == "Reception screening")
        #expect(manifest?["nhs_numbers"] as? [String] == ["9990000018", "9990000026"])
        #expect(manifest?["workflow"] as? String == "reception-summary")
        #expect(opened.stdout.contains("workflow: reception-summary") && opened.stdout.contains("NHS numbers: 9990000018 9990000026"))
        // Plaintext is private to the gateway's user.
        let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
        #expect(mode == 0o700)
        #expect(noLeftovers())
        // Sealed to the sender too, by default, so it can re-read what it sent.
        #expect(try gatehouse(["open", "--home", practice, bundle, "-o", folder.appending("mine")]).status == 0)
    }

    @Test func tamperedTruncatedAndExtendedBundlesPublishNothing() throws {
        let bundle = try sealed([try write("a.txt", Array("Blood pressure 120/80".utf8))])
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: bundle)))
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x01
        let cases: [(String, [UInt8], Int32)] = [
            ("flipped", flipped, 5), ("truncated", Array(bytes.dropLast(10)), 3), ("extended", bytes + [0], 3),
            ("not a bundle", Array("%PDF-1.7".utf8), 3),
        ]
        for (what, changed, status) in cases {
            let path = try write("\(what).ghb", changed)
            let out = folder.appending("out-\(what)")
            let result = try gatehouse(["open", "--home", prison, path, "-o", out])
            #expect(result.status == status, "\(what): \(result.stderr)")
            #expect(result.stderr.hasPrefix("gatehouse: error: "), "\(what)")
            #expect(result.stderr.contains("gatehouse: hint: "), "\(what)")
            #expect(listing(out) == nil, "\(what) published something")
        }
        #expect(noLeftovers())
    }

    @Test func wrongPartiesAreRefused() throws {
        let bundle = try sealed([try write("a.txt", [1, 2, 3])])
        // A third party holds no stanza.
        try exchange(practice, outsider)
        let notRecipient = try gatehouse(["open", "--home", outsider, bundle, "-o", folder.appending("o1")])
        #expect(notRecipient.status == 6, "\(notRecipient.stderr)")
        // A receiver that never pinned the sender.
        let fresh = folder.appending("fresh")
        #expect(try gatehouse(["init", "--home", fresh, "--org", "YOI123", "--name", "Another"]).status == 0)
        let unknown = try gatehouse(["open", "--home", fresh, bundle, "-o", folder.appending("o2")])
        #expect(unknown.status == 4, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("partners add"))
    }

    @Test func openRefusesANonEmptyOutputFolder() throws {
        let bundle = try sealed([try write("a.txt", [1])])
        let out = folder.appending("busy")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        _ = try write("busy/keep.txt", [9])
        let result = try gatehouse(["open", "--home", prison, bundle, "-o", out])
        #expect(result.status == 12, "\(result.stderr)")
        #expect(listing(out) == ["keep.txt"])
        // An empty folder is fine.
        let empty = folder.appending("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(try gatehouse(["open", "--home", prison, bundle, "-o", empty]).status == 0)
    }

    @Test func sealRefusesBadInputsClearly() throws {
        let a = try write("a.txt", [1])
        try FileManager.default.createDirectory(atPath: folder.appending("sub"), withIntermediateDirectories: true)
        let twin = try write("sub/a.txt", [2])
        let existing = try write("existing.ghb", [7, 7, 7])
        let cases: [([String], Int32, String)] = [
            (["--to", "YOI123", folder.appending("missing.txt")], 12, "missing.txt"),
            (["--to", "YOI123", folder.appending("sub")], 12, "sub"),
            (["--to", "YOI123", a, twin], 12, "unique"),
            (["--to", "XHM01", a], 11, "XHM01"),
            (["--to", "YOI123", "--nhs-number", "9990000019", a], 64, "NHS number"),
            (["--to", "Y!", a], 64, "ODS"),
            (["--to", "YOI123", "-o", existing, a], 12, "existing.ghb"),
        ]
        for (arguments, status, mention) in cases {
            let result = try gatehouse(["seal", "--home", practice] + arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(mention), "\(arguments): \(result.stderr)")
        }
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: existing))) == [7, 7, 7])
        #expect(noLeftovers())
    }

    @Test func inspectShowsTheCleartextOnly() throws {
        let bundle = try sealed([try write("secret-name.txt", Array("Ada Testperson".utf8))], extra: ["--subject", "Confidential subject"])
        let text = try gatehouse(["inspect", "--home", prison, bundle])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("A81001"))
        #expect(text.stdout.contains("outer signature:  valid"))
        let json = try gatehouse(["inspect", "--home", outsider, "--json", bundle])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["sender"] as? String == "A81001")
        #expect(object?["outer_signature"] as? String == "unknown-sender")
        #expect((object?["recipients"] as? [[String: Any]])?.map { $0["org"] as? String } == ["YOI123", "A81001"])
        // No patient-identifiable data in the cleartext.
        let raw = try Data(contentsOf: URL(fileURLWithPath: bundle))
        for secret in ["secret-name", "Ada Testperson", "Confidential"] {
            #expect(raw.range(of: Data(secret.utf8)) == nil, "\(secret) visible in the bundle")
            #expect(!text.stdout.contains(secret))
        }
    }
}
