import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseKit

/// `gatehouse doctor [--json]`: checks a home folder without the daemon.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a home folder: key permissions, configuration, cards and expiry, mailboxes, disk space, clock.",
        discussion: """
            Prints one line per check: OK, WARNING or PROBLEM, what was found, and what to do. \
            Needs no running daemon and changes nothing (it writes and removes a small probe file \
            in each mailbox, and writes the same ssh/known_hosts.ODS files the daemon does). A relay is checked as the daemon uses it: its SSH greeting, then a \
            login with this organisation's key and the pinned host key, a listing of the own \
            mailbox, and a dot-name probe file created and removed in it and in each partner's \
            mailbox there; each network step takes at most --timeout. Exits with status 16 when any check is a \
            PROBLEM, 0 otherwise (warnings included).

            Checks:
              key files      keys/*.key: regular files, mode 0600, owned by this user
              configuration  gatehouse.toml is valid
              identity       own manifest and signing key unexpired (warns at 30 days)
              partner ODS    each pinned card unexpired (warns at 30 days)
              mailbox ODS    relay: login (key registered, host key as pinned), listing,
                             probe file in each mailbox; or folder writable
              clock skew     against the own mailbox (a folder, or the relay's clock)
              disk space     spool: warns below 1 GiB or 5%, problem below 100 MiB or 1%

            Examples:
              gatehouse doctor --home /srv/gatehouse
              gatehouse doctor --json | jq '.[] | select(.level != "OK")'
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Flag(name: .long, help: "Print the findings as a JSON array of {check, level, message, fix}.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Time allowed for each network check, in seconds (1 to 60).", valueName: "seconds"))
    var timeout = 3

    func validate() throws {
        guard (1...60).contains(timeout) else { throw ValidationError("--timeout must be between 1 and 60 seconds, not \(timeout)") }
    }

    func run() async throws {
        let home = homeOptions.resolved
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: home.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw KitError.notInitialised("\(home.path) is not a folder: give the organisation's home folder with --home", path: home.path)
        }
        let findings = await HomeDoctor(home: home, timeout: .seconds(timeout)).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(findings), as: UTF8.self))
        } else {
            for finding in findings { print(finding.line) }
            let problems = findings.filter { $0.level == .problem }.count
            let warnings = findings.filter { $0.level == .warning }.count
            print(problems + warnings == 0 ? "All \(findings.count) checks passed." : "\(problems) problem(s), \(warnings) warning(s).")
        }
        if findings.contains(where: { $0.level == .problem }) { throw ExitCode(GatehouseExitStatus.problemFound.rawValue) }
    }
}
