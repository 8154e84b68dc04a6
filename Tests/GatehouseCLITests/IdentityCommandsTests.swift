import Foundation
import GatehouseTesting
import Testing

/// End-to-end tests of `init`, `identity` and `partners`, through the built binary.
@Suite("gatehouse init, identity and partners (end to end)")
struct IdentityCommandsTests {
    let folder: TemporaryDirectory
    let practice: String
    let prison: String

    init() throws {
        folder = try TemporaryDirectory()
        practice = folder.appending("practice")
        prison = folder.appending("prison")
        for home in [practice, prison] { try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true) }
    }

    @discardableResult
    func gatehouse(_ arguments: String..., home: String? = nil, stdin: String? = nil) throws -> ProcessOutput {
        try GatehouseProcess.run(arguments, home: home, stdin: stdin)
    }

    func initialiseBoth() throws {
        #expect(try gatehouse("init", "--org", "a81001", "--name", "Riverside Medical Practice", home: practice).status == 0)
        #expect(try gatehouse("init", "--home", prison, "--org", "XHM01", "--name", "HMP Northgate Healthcare").status == 0)
    }

    @Test func initPrintsIdsAndFingerprintAndRefusesASecondTime() throws {
        let first = try gatehouse("init", "--org", "a81001", "--name", "Riverside Medical Practice", home: practice)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("A81001"))
        #expect(first.stdout.contains("keys/identity.card"))
        #expect(first.stdout.range(of: #"fingerprint: \d{5} \d{5} \d{5} \d{5} \d{5} \d{5}"#, options: .regularExpression) != nil)
        #expect(first.stdout.range(of: #"ed25519 [0-9a-f]{16}"#, options: .regularExpression) != nil)
        let again = try gatehouse("init", "--org", "A81001", "--name", "Riverside Medical Practice", home: practice)
        #expect(again.status == 10)
        #expect(again.stderr.hasPrefix("gatehouse: error: "))
        #expect(again.stderr.contains("gatehouse: hint: "))
    }

    @Test func aNameStartingWithACombiningMarkWorksEverywhere() throws {
        // The card line "name: \u{301}…" holds the space and the mark in one Character; the
        // card parser once refused it ("expected one space"), even the home's own card.
        let name = "\u{301}Northgate Healthcare"
        let made = try gatehouse("init", "--home", prison, "--org", "XHM01", "--name", name)
        #expect(made.status == 0, "\(made.stderr)")
        let show = try gatehouse("identity", "show", home: prison)
        #expect(show.status == 0 && show.stdout.contains(name), "\(show.stderr)")
        let cardFile = folder.appending("xhm01.card")
        #expect(try gatehouse("identity", "export", "-o", cardFile, home: prison).status == 0)
        #expect(try gatehouse("init", "--org", "A81001", "--name", "Riverside Medical Practice", home: practice).status == 0)
        let add = try gatehouse("partners", "add", cardFile, "--yes", home: practice)
        #expect(add.status == 0, "\(add.stderr)")
        // A name a person could be misled by is refused before any key is made.
        let refused = try gatehouse("init", "--home", folder.appending("third"), "--org", "XHM02", "--name", "Northgate\u{202E}")
        #expect(refused.status != 0 && refused.stderr.contains("U+202E RIGHT-TO-LEFT OVERRIDE"), "\(refused.stderr)")
    }

    @Test func exportAddListBetweenTwoHomes() throws {
        try initialiseBoth()
        let cardFile = folder.appending("xhm01.card")
        #expect(try gatehouse("identity", "export", "-o", cardFile, home: prison).status == 0)
        let overwrite = try gatehouse("identity", "export", "-o", cardFile, home: prison)
        #expect(overwrite.status == 12, "\(overwrite.stderr)")
        let exported = try gatehouse("identity", "export", home: prison).stdout
        #expect(try String(contentsOfFile: cardFile, encoding: .utf8) == exported)

        let show = try gatehouse("identity", "show", home: prison)
        let fingerprint = try #require(show.stdout.split(separator: "\n").first { $0.hasPrefix("fingerprint:") }?
            .dropFirst("fingerprint:".count).trimmingCharacters(in: .whitespaces))

        let add = try gatehouse("partners", "add", cardFile, home: practice, stdin: "y\n")
        #expect(add.status == 0, "\(add.stderr)")
        #expect(add.stdout.contains(fingerprint))
        #expect(add.stdout.contains("Does the fingerprint match what XHM01 read to you? [y/N]"))

        let list = try gatehouse("partners", "list", "--json", home: practice)
        #expect(list.status == 0)
        let entries = try #require(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(entries.first?["org"] as? String == "XHM01")
        #expect(entries.first?["name"] as? String == "HMP Northgate Healthcare")
        #expect(entries.first?["fingerprint"] as? String == fingerprint)
        #expect(Set(entries.first?.keys.map { $0 } ?? []) == ["org", "name", "fingerprint", "manifest_version", "signing_key_id",
                                                             "encryption_key_id", "created", "expires", "stale",
                                                             "own_manifest_confirmed", "own_manifest_sent", "source"])
        #expect(entries.first?["manifest_version"] as? Int == 1)
        // No gateway has run: nothing of ours sent to or confirmed by the partner yet.
        #expect(entries.first?["own_manifest_confirmed"] as? Int == 0)
        #expect(entries.first?["stale"] as? Bool == false)
        #expect((entries.first?["created"] as? String)?.hasSuffix("Z") == true)
        // Stable output: the same bytes every time.
        #expect(try gatehouse("partners", "list", "--json", home: practice).stdout == list.stdout)
    }

    @Test(arguments: ["n\n", "", "yes please\n"])
    func unconfirmedFingerprintStoresNothing(answer: String) throws {
        try initialiseBoth()
        let cardFile = folder.appending("xhm01.card")
        try gatehouse("identity", "export", "-o", cardFile, home: prison)
        let add = try gatehouse("partners", "add", cardFile, home: practice, stdin: answer)
        #expect(add.status == 11, "\(add.stderr)")
        #expect(add.stderr.contains("gatehouse: error: the fingerprint of XHM01 was not confirmed"))
        #expect(add.stderr.contains("gatehouse: hint: "))
        #expect(!FileManager.default.fileExists(atPath: practice + "/partners/XHM01.card"))
        #expect(try gatehouse("partners", "list", "--json", home: practice).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test func conflictingRootAndInvalidCardsAreRefused() throws {
        try initialiseBoth()
        let cardFile = folder.appending("xhm01.card")
        try gatehouse("identity", "export", "-o", cardFile, home: prison)
        #expect(try gatehouse("partners", "add", cardFile, "--yes", home: practice).status == 0)
        // Another organisation claiming XHM01 with a different root key.
        let impostor = folder.appending("impostor")
        try FileManager.default.createDirectory(atPath: impostor, withIntermediateDirectories: true)
        try gatehouse("init", "--org", "XHM01", "--name", "HMP Northgate Healthcare", home: impostor)
        let impostorCard = folder.appending("impostor.card")
        try gatehouse("identity", "export", "-o", impostorCard, home: impostor)
        let conflict = try gatehouse("partners", "add", impostorCard, "--yes", home: practice)
        #expect(conflict.status == 11)
        #expect(conflict.stderr.contains("--replace"))

        let tampered = folder.appending("tampered.card")
        let text = try String(contentsOfFile: cardFile, encoding: .utf8).replacing("Northgate", with: "Northgale")
        try Data(text.utf8).write(to: URL(fileURLWithPath: tampered))
        let invalid = try gatehouse("partners", "add", tampered, "--yes", home: practice)
        #expect(invalid.status == 11)
        #expect(invalid.stderr.contains("line 12: signature: the root key's signature does not verify"), "\(invalid.stderr)")
        #expect(try gatehouse("partners", "add", folder.appending("missing.card"), "--yes", home: practice).status == 12)
    }

    @Test(arguments: ["A1", "A81001X999", "A8-1001", "A81 001"])
    func badODSCodesAreUsageErrors(code: String) throws {
        let result = try gatehouse("init", "--org", code, "--name", "Riverside Medical Practice", home: practice)
        #expect(result.status == 64 || result.status == 12)
        #expect(result.stderr.contains("ODS code"))
        #expect(!FileManager.default.fileExists(atPath: practice + "/keys"))
    }

    @Test func worldReadableKeyIsRefusedWithAHint() throws {
        try initialiseBoth()
        let rootKey = practice + "/keys/root.key"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: rootKey)
        let show = try gatehouse("identity", "show", home: practice)
        #expect(show.status == 10)
        #expect(show.stderr.contains("gatehouse: error: \(rootKey)"))
        #expect(show.stderr.contains("gatehouse: hint: "))
        #expect(show.stderr.contains("chmod 600 \(rootKey)"))
    }

    @Test func uninitialisedHomeAndUsageErrors() throws {
        let show = try gatehouse("identity", "show", home: practice)
        #expect(show.status == 10)
        #expect(show.stderr.contains("gatehouse init"))
        #expect(try gatehouse("no-such-command").status == 64)
        let help = try gatehouse("--help")
        #expect(help.status == 0)
        #expect(help.stdout.contains("partners"))
    }
}
