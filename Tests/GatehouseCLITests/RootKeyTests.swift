import Foundation
import GatehouseTesting
import Testing

/// The root key protected by a passphrase, and kept off the machine (`--root-key FILE`).
@Suite("gatehouse keys: the root key offline and passphrase-protected")
struct RootKeyTests {
    let folder: TemporaryDirectory
    let home: String
    let passphrase: String
    let wrong: String

    init() throws {
        folder = try TemporaryDirectory()
        home = folder.appending("practice")
        passphrase = folder.appending("passphrase")
        wrong = folder.appending("wrong")
        try "correct horse battery staple\n".write(toFile: passphrase, atomically: true, encoding: .utf8)
        try "incorrect horse battery staple\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        let made = try GatehouseProcess.run(["init", "--home", home, "--org", "A81001", "--name", "Riverside Medical Practice"])
        #expect(made.status == 0, "\(made.stderr)")
    }

    func gatehouse(_ arguments: String...) throws -> ProcessOutput { try GatehouseProcess.run(arguments) }

    @Test func aProtectedRootKeyNeedsItsPassphrase() throws {
        let before = try String(contentsOfFile: home + "/keys/root.key", encoding: .utf8)
        #expect(try gatehouse("keys", "protect-root", "--home", home, "--passphrase-file", passphrase).status == 0)
        let after = try String(contentsOfFile: home + "/keys/root.key", encoding: .utf8)
        #expect(after.hasPrefix("gatehouse-protected-key-v1 root ed25519 ") && after.contains(" argon2id13 "))
        // The secret is no longer in the file in the clear.
        #expect(!after.contains(before.split(separator: " ").last!.trimmingCharacters(in: .newlines)))
        let noPassphrase = try gatehouse("identity", "set-mailbox", "--home", home, "dir:/srv/gatehouse/mailboxes")
        #expect(noPassphrase.status != 0)
        #expect(noPassphrase.stderr.contains("--passphrase-file"), "\(noPassphrase.stderr)")
        let bad = try gatehouse("identity", "set-mailbox", "--home", home, "--passphrase-file", wrong, "dir:/srv/gatehouse/mailboxes")
        #expect(bad.status == 10)
        #expect(bad.stderr.contains("wrong passphrase"), "\(bad.stderr)")
        let good = try gatehouse("identity", "set-mailbox", "--home", home, "--passphrase-file", passphrase, "dir:/srv/gatehouse/mailboxes")
        #expect(good.status == 0, "\(good.stderr)")
        // Everything else works without the root key.
        let shown = try gatehouse("identity", "show", "--home", home)
        #expect(shown.status == 0, "\(shown.stderr)")
        let short = folder.appending("short")
        try "short\n".write(toFile: short, atomically: true, encoding: .utf8)
        #expect(try gatehouse("keys", "protect-root", "--home", home, "--passphrase-file", short).status == 64)
    }

    @Test func theRootKeyCanLiveOffTheMachine() throws {
        let offline = folder.appending("usb-root.key")
        let moved = try gatehouse("keys", "protect-root", "--home", home, "--passphrase-file", passphrase, "--out", offline)
        #expect(moved.status == 0, "\(moved.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home + "/keys/root.key"))
        #expect((try FileManager.default.attributesOfItem(atPath: offline)[.posixPermissions] as? Int) == 0o600)
        #expect(try gatehouse("identity", "show", "--home", home).status == 0)
        let listed = try gatehouse("keys", "list", "--home", home)
        #expect(listed.stdout.contains("root") && listed.stdout.contains("not on this machine"), "\(listed.stdout)")
        let missing = try gatehouse("identity", "set-mailbox", "--home", home, "--passphrase-file", passphrase, "dir:/srv/a")
        #expect(missing.status == 10)
        #expect(missing.stderr.contains("--root-key"), "\(missing.stderr)")
        let changed = try gatehouse("identity", "set-mailbox", "--home", home, "--root-key", offline, "--passphrase-file", passphrase, "dir:/srv/a")
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(try String(contentsOfFile: home + "/keys/identity.card", encoding: .utf8).contains("mailbox: dir:/srv/a"))
        // The offline file is never overwritten by a second move.
        #expect(try gatehouse("keys", "protect-root", "--home", home, "--passphrase-file", passphrase, "--out", offline).status != 0)
        let audit = try gatehouse("audit", "verify", "--home", home)
        #expect(audit.status == 0, "\(audit.stderr)")
    }
}
