import ArgumentParser
import GatehouseFormat
import GatehouseKit
import GatehouseNotify
import Logging

/// `gatehouse notify test`.
struct NotifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "Check the [notify] command and webhook in gatehouse.toml.",
        discussion: """
            Examples:
              gatehouse notify test
              gatehouse notify test --event delivery.failed
            """,
        subcommands: [Test.self]
    )

    /// `gatehouse notify test`.
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send one test event to each [notify] target now and report what each answered.",
            discussion: """
                The event has "test": true, a new id, and the kind given (default pack.received), \
                without bundle or patient data. It is sent at once (not queued), audited as \
                notify-test, and the exit status is 0 only when every target accepted it: a \
                command exited 0, a webhook answered 2xx over a verified connection.

                Examples:
                  gatehouse notify test
                  gatehouse notify test --event delivery.failed
                """
        )

        @OptionGroup var homeOptions: HomeOptions

        @Option(name: .customLong("event"), help: ArgumentHelp("The kind of event to send.", valueName: "kind"))
        var kind = "pack.received"

        func validate() throws {
            guard NotifySettings.eventKinds.contains(kind) else {
                let known = NotifySettings.eventKinds.joined(separator: ", ")
                throw ValidationError("unknown event '\(kind)' (known: \(known))")
            }
        }

        func run() async throws {
            let home = try homeOptions.initialised()
            let config = try GatehouseConfig.load(home: home)
            guard config.notify.isEnabled else {
                throw CommandFailure(status: .invalidInput,
                                     message: "\(home.configPath) has no [notify.command] or [notify.webhook]",
                                     hint: "add one (see `gatehouse config check --default`), then run this again")
            }
            let own = try Gateway(home: home).keys.loadOwnCard()
            let notifier = try Notifier.forDaemon(config.notify, home: home, organisation: own.org,
                                                  logger: Logger(label: "gatehouse.notify"))
            var event = notifier.event(kind)
            event.test = true
            event.reason = "a test from `gatehouse notify test`"
            var failed = false
            for (target, outcome) in await notifier.sendNow(event) {
                switch outcome {
                case .success(let answer):
                    print("\(target): sent (\(answer.isEmpty ? "ok" : answer.trimmingPrefix(": ")))")
                    let detail = "\(target) \(kind) \(event.id): sent"
                    CommandAudit.record(AuditEvent("notify-test", detail: detail), home: home)
                case .failure(let error):
                    failed = true
                    print("\(target): FAILED: \(error.message)")
                    let detail = "\(target) \(kind) \(event.id): \(error.category.rawValue)"
                    CommandAudit.record(AuditEvent("notify-test", detail: detail), home: home)
                }
            }
            if failed {
                throw CommandFailure(status: .ioError, message: "a notification target did not accept the test event",
                                     hint: "see the line above for the reason; the daemon's log says the same "
                                         + "for real events")
            }
        }
    }
}
