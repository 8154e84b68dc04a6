import ArgumentParser
import Foundation
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit
import Logging

/// `gatehouse deliver BUNDLE [--to ODS]`.
struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Put a bundle sealed with `gatehouse seal` into its recipients' mailboxes now.",
        discussion: """
            For bundles sealed by hand: checks that this organisation sealed it (the outer \
            signature verifies against its own key), then uploads it to each recipient's mailbox \
            (or only --to's) the way the daemon does, and prints the time taken. The daemon does \
            not track these bundles: a running gateway puts their receipts in spool/quarantine/ \
            as receipts for bundles it never sent.

            Examples:
              gatehouse seal --to YOI123 -o letter.ghb letter.pdf
              gatehouse deliver letter.ghb
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(name: .customLong("to"), help: ArgumentHelp("Deliver only to this recipient.", valueName: "ods"), transform: ODSCode.fromArgument)
    var only: ODSCode?

    @Argument(help: ArgumentHelp("The bundle file.", valueName: "bundle"))
    var bundle: String

    func run() async throws {
        let home = try homeOptions.initialised()
        let gateway = Gateway(home: home)
        let own = try gateway.keys.loadOwnCard()
        let inspection = try gateway.inspect(bundle)
        let header = inspection.header
        guard header.sender == own.org, inspection.signature == .valid else {
            throw CommandFailure(status: .authenticationFailed,
                                 message: "\(bundle) was not sealed by \(own.org) (sender \(header.sender), signature \(inspection.signature))",
                                 hint: "only bundles this organisation sealed can be delivered from here")
        }
        let config = try GatehouseConfig.load(home: home)
        let connector = MailboxConnector(home: home, own: own, config: config, logger: Logger(label: "gatehouse"))
        var recipients = header.recipients.filter { $0 != own.org }
        if let only {
            guard recipients.contains(only) else {
                throw ValidationError("\(only) is not a recipient of this bundle (recipients: \(recipients.map(\.value).joined(separator: ", ")))")
            }
            recipients = [only]
        }
        for org in recipients {
            let transport = try connector.transport(for: org)
            let start = ContinuousClock.now
            try await transport.deliver(bundle, to: org, as: MailboxName.bundle(header.bundleID))
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(String(format: "delivered %@ to %@'s mailbox: %llu bytes in %.3f s (%.1f MB/s)",
                         header.bundleID.hex, org.value, inspection.length, seconds, Double(inspection.length) / max(seconds, 1e-9) / 1e6))
        }
    }
}
