import Foundation
import GatehouseKit
import GatehouseTesting
import Testing

/// Every error reads `gatehouse: error: …` then `gatehouse: hint: …`, argument errors and
/// passphrase errors included (they printed ArgumentParser's `Error: … Usage: …`), and usage
/// errors keep exit status 64.
@Suite("errors in gatehouse's words")
struct ErrorFormTests {
    let folder: TemporaryDirectory
    let home: String

    init() throws {
        folder = try TemporaryDirectory()
        home = folder.appending("practice")
        try GatehouseProcess.initialise(home)
    }

    /// The lines of `stderr`, each checked to be one of ours.
    static func checkForm(_ output: ProcessOutput, _ what: String) {
        let lines = output.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.first?.hasPrefix("gatehouse: error: ") == true, "\(what): \(output.stderr)")
        for line in lines.dropFirst() {
            #expect(line.hasPrefix("gatehouse: hint: "), "\(what): \(output.stderr)")
        }
        #expect(!output.stderr.contains("Error:") && !output.stderr.contains("Usage:"), "\(what): \(output.stderr)")
    }

    @Test(arguments: [
        (["send", "x.xml"], "missing expected argument '--to <ods>'", "gatehouse send"),
        (["init", "--org", "x", "--name", "Y"], "is not an ODS code", "gatehouse init"),
        (["status", "--limit", "many"], "the value 'many' is invalid for '--limit <n>'", "gatehouse status"),
        (["status", "--bogus"], "unknown option '--bogus'", "gatehouse status"),
        (["no-such-command"], "unexpected argument 'no-such-command'", "gatehouse <subcommand>"),
        (["keys", "rotate", "--grace", "soon"], "--grace: expected a duration", "gatehouse keys rotate"),
        (["relay", "init", "--listen", "nowhere"], "--listen \"nowhere\"", "gatehouse relay init"),
    ])
    func usageErrorsExit64WithTheUsageAsAHint(arguments: [String], message: String, usage: String) throws {
        let output = try GatehouseProcess.run(arguments, home: home)
        #expect(output.status == 64, "\(arguments): \(output.stderr)")
        Self.checkForm(output, "\(arguments)")
        #expect(output.stderr.contains(message), "\(output.stderr)")
        #expect(output.stderr.contains("gatehouse: hint: usage: \(usage)"), "\(output.stderr)")
        #expect(output.stdout.isEmpty)
    }

    @Test func versionAndHelpStillPrintOnStandardOutput() throws {
        let version = try GatehouseProcess.run(["--version"])
        #expect(version.status == 0 && version.stdout == "gatehouse \(GatehouseVersion.current)\n", "\(version)")
        let help = try GatehouseProcess.run(["send", "--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: gatehouse send") && help.stderr.isEmpty)
    }

    @Test func passphraseErrorsSayWhatIsWrongNotThatTheKeyIsDamaged() throws {
        let passphrase = folder.appending("passphrase"), wrong = folder.appending("wrong")
        let short = folder.appending("short")
        try "correct horse battery staple\n".write(toFile: passphrase, atomically: true, encoding: .utf8)
        try "incorrect horse battery staple\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        try "short\n".write(toFile: short, atomically: true, encoding: .utf8)
        let tooShort = try GatehouseProcess.run(["keys", "protect-root", "--home", home, "--passphrase-file", short])
        #expect(tooShort.status == 64)
        Self.checkForm(tooShort, "short passphrase")
        #expect(tooShort.stderr.contains("shorter than 12 characters")
                && tooShort.stderr.contains("gatehouse: hint: usage: gatehouse keys protect-root"),
                "\(tooShort.stderr)")
        let protected = try GatehouseProcess.run(["keys", "protect-root", "--home", home,
                                                  "--passphrase-file", passphrase])
        #expect(protected.status == 0, "\(protected.stderr)")

        let address = "dir:/srv/gatehouse/mailboxes"
        let noTerminal = try GatehouseProcess.run(["identity", "set-mailbox", "--home", home, address])
        #expect(noTerminal.status == 64)
        Self.checkForm(noTerminal, "no terminal")
        #expect(noTerminal.stderr.contains("no terminal to ask for the passphrase on")
                && noTerminal.stderr.contains("--passphrase-file FILE"), "\(noTerminal.stderr)")

        let bad = try GatehouseProcess.run(["identity", "set-mailbox", "--home", home, "--passphrase-file", wrong,
                                            address])
        #expect(bad.status == 10)
        Self.checkForm(bad, "wrong passphrase")
        #expect(bad.stderr.contains("gatehouse: error: wrong passphrase for \(home)/keys/root.key"),
                "\(bad.stderr)")
        #expect(bad.stderr.contains("give the passphrase again") && !bad.stderr.contains("damaged"), "\(bad.stderr)")

        // The root key moved off the machine (another home): its absence is not damage.
        let other = folder.appending("prison"), offline = folder.appending("usb-root.key")
        try GatehouseProcess.initialise(other, org: "YOI123", name: "HMP Northgate Healthcare")
        let moved = try GatehouseProcess.run(["keys", "protect-root", "--home", other, "--passphrase-file", passphrase,
                                              "--out", offline])
        #expect(moved.status == 0, "\(moved.stderr)")
        let missing = try GatehouseProcess.run(["identity", "set-mailbox", "--home", other,
                                                "--passphrase-file", passphrase, address])
        #expect(missing.status == 10)
        Self.checkForm(missing, "root key offline")
        #expect(missing.stderr.contains("the root key is not on this machine")
                && missing.stderr.contains("pass --root-key FILE") && !missing.stderr.contains("damaged"),
                "\(missing.stderr)")
        let nowhere = try GatehouseProcess.run(["identity", "set-mailbox", "--home", other,
                                                "--root-key", folder.appending("no-such.key"),
                                                "--passphrase-file", passphrase, address])
        #expect(nowhere.status == 10)
        #expect(nowhere.stderr.contains("no-such.key does not exist") && !nowhere.stderr.contains("damaged"),
                "\(nowhere.stderr)")
    }
}
