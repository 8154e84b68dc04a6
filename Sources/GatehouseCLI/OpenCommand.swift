import ArgumentParser
import GatehouseFormat
import GatehouseKit

/// `gatehouse open BUNDLE -o DIR`.
struct OpenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Verify, decrypt and publish a bundle's files.",
        discussion: """
            The outer signature is checked against the sender's pinned key before anything is \
            decrypted; then every file's SHA-256 and the sender's inner signature are checked. \
            Only then do the files appear in DIR, all at once, with the verified manifest in \
            .gatehouse-manifest.json. DIR must not exist yet or be empty.

            Example:
              gatehouse open 3f2a…9c.ghb -o received/3f2a…9c
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Argument(help: ArgumentHelp("The bundle file.", valueName: "bundle"))
    var bundle: String

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp(
        "The folder to publish the files in (must not exist, or be empty).", valueName: "dir"))
    var output: String

    func run() throws {
        let home = try homeOptions.initialised()
        let gateway = Gateway(home: home)
        // The same [limits] as the daemon: a size bomb is refused here too before anything is written.
        let opened = try gateway.open(bundle, into: output, limits: try GatehouseConfig.load(home: home).limits)
        let m = opened.manifest
        print("Verified bundle \(m.bundleID) from \(m.sender), sent \(RFC3339.format(m.createdAt) ?? String(m.createdAt))")
        if !m.subject.isEmpty { print("subject: \(m.subject)") }
        print("workflow: \(m.context.workflow)")
        if !m.context.nhsNumbers.isEmpty { print("NHS numbers: \(m.context.nhsNumbers.joined(separator: " "))") }
        for file in m.files { print("  \(file.sha256)  \(file.size)  \(file.name)") }
        print("published in \(opened.destination)")
    }
}
