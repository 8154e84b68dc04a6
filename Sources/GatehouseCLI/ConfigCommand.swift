import ArgumentParser
import GatehouseFormat
import GatehouseDaemon
import GatehouseKit
import GatehouseWeb

/// `gatehouse config check [--default]`.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check the configuration file.",
        discussion: """
            Examples:
              gatehouse config check
              gatehouse config check --default
            """,
        subcommands: [Check.self]
    )

    /// `gatehouse config check`.
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate gatehouse.toml and print the settings in effect.",
            discussion: """
                Errors name the line and the key, e.g. gatehouse.toml:14: key 'delivery.expiry': … \
                With --default, prints the commented default file instead.

                Examples:
                  gatehouse config check
                  gatehouse config check --default > gatehouse.toml
                """
        )

        @OptionGroup var homeOptions: HomeOptions

        @Flag(name: .customLong("default"), help: "Print the commented default configuration.")
        var printDefault = false

        func run() throws {
            if printDefault { return print(GatehouseConfig.defaultText, terminator: "") }
            let home = homeOptions.resolved
            let config = try GatehouseConfig.load(home: home)
            // [web] settings that only make sense together (a trusted proxy header on loopback
            // only) are refused here as `gatehouse web` would refuse them at start.
            do {
                _ = try WebServer.checkedAddress(config.web)
            } catch {
                throw CommandFailure(
                    status: .invalidInput, message: "\(home.configPath): [web]: \(error.message)",
                    hint: "see the [web] section of docs/OPERATIONS.md")
            }
            let d = GatehouseConfig.describe
            print("""
                \(home.configPath): valid
                organisation.mailbox       \(config.mailbox?.description ?? "(from the identity card)")
                delivery.expiry            \(d(config.expiry))
                delivery.retry_initial     \(d(config.retryInitial))
                delivery.retry_max         \(d(config.retryMax))
                delivery.breaker_failures  \(config.breakerFailures)
                delivery.breaker_cooldown  \(d(config.breakerCooldown))
                spool.rescan_interval      \(d(config.rescanInterval))
                spool.stable_window        \(d(config.stableWindow))
                spool.retention            \(config.retention.rawValue)
                collector.poll_interval    \(d(config.pollInterval))
                collector.watch            \(config.mailboxWatching.rawValue)
                collector.unreachable_after \(d(config.unreachableAfter))
                keys.manifest_resend       \(d(config.manifestResend))
                keys.revocation_confirm_within \(d(config.revocationConfirmWithin))
                limits.bundle_max_mb       \(config.limits.bundleMaxBytes >> 20)
                limits.unpacked_max_mb     \(config.limits.unpackedMaxBytes >> 20)
                limits.files_max           \(config.limits.filesMax)
                limits.free_space_reserve_mb \(config.limits.freeSpaceReserve >> 20)
                limits.clock_tolerance     \(d(config.limits.clockTolerance))
                limits.unknown_sender_hold \(d(config.limits.unknownSenderHold))
                limits.quarantine_per_sender \(config.limits.quarantinePerSender)
                limits.quarantine_max_mb   \(config.limits.quarantineMaxBytes >> 20)
                limits.held_expire         \(d(config.limits.heldExpire))
                limits.held_per_sender     \(config.limits.heldPerSender)
                limits.held_max_mb         \(config.limits.heldMaxBytes >> 20)
                workflows.names            \(config.workflows.names.map(\.value).joined(separator: " "))
                workflows.default          \(config.workflows.defaultWorkflow)
                """)
            for (workflow, _) in config.workflows.folders.sorted(by: { $0.key < $1.key }) {
                print("workflows.\(workflow).folder ".padding(toLength: 27, withPad: " ", startingAt: 0)
                      + (config.workflows.publishFolder(for: workflow, home: home) ?? ""))
            }
            if let journal = config.journal {
                print("""
                    journal.url                \(journal.url)
                    journal.password_file      \(journal.passwordFile ?? "(none)")
                    journal.tls                \(journal.tls.rawValue)
                    journal.node               \(journal.node ?? "(the host name)")
                    journal.lease              \(d(journal.lease))
                    """)
            } else {
                print("journal                    \(SpoolLayout(home: home).journal) (SQLite)")
            }
            if let tenants = config.tenants {
                for tenant in tenants.resolve() { print("tenants                    \(tenant.path)") }
            }
            for (org, address) in config.partnerMailboxes.sorted(by: { $0.key < $1.key }) {
                print("partners.\(org).mailbox".padding(toLength: 27, withPad: " ", startingAt: 0) + address.description)
            }
            for (key, value) in Self.notifyLines(config.notify) + Self.webLines(config.web) {
                print(key.padding(toLength: max(27, key.count + 1), withPad: " ", startingAt: 0) + value)
            }
        }

        /// The `[web]` settings in effect, as key and value.
        static func webLines(_ web: WebSettings) -> [(String, String)] {
            let d = GatehouseConfig.describe
            let passwordDefault = web.passwordSignInSetting == nil ? " (default)" : ""
            return [("web.listen", web.listen),
                    ("web.tls_certificate", web.tlsCertificate ?? "(none: plain HTTP, loopback only)"),
                    ("web.tls_key", web.tlsKey ?? "(none)"),
                    ("web.behind_tls_proxy", String(web.behindTLSProxy)),
                    ("web.idle_timeout", d(web.idleTimeout)), ("web.session_lifetime", d(web.sessionLifetime)),
                    ("web.upload_max_mb", String(web.uploadMaxBytes >> 20)), ("web.totp", String(web.totpRequired)),
                    ("web.trusted_proxy_user_header",
                     web.trustedProxyUserHeader ?? "(none: no header signs anyone in)"),
                    ("web.password_signin", String(web.passwordSignIn) + passwordDefault)]
        }

        /// The `[notify]` settings in effect, as key and value.
        static func notifyLines(_ notify: NotifySettings) -> [(String, String)] {
            let d = GatehouseConfig.describe
            let events = { (set: Set<String>) in NotifySettings.eventKinds.filter(set.contains).joined(separator: " ") }
            var lines = [("notify.events", events(notify.events)),
                         ("notify.include_patient_data", String(notify.includePatientData)),
                         ("notify.receipt_overdue", d(notify.receiptOverdue)),
                         ("notify.expiry_warning", d(notify.expiryWarning)),
                         ("notify.queue_max", String(notify.queueMax)), ("notify.max_age", d(notify.maxAge))]
            if let command = notify.command {
                // Arguments quoted as JSON strings: what runs is exactly this list, no shell.
                lines += [("notify.command.argv", command.argv.map { $0.debugDescription }.joined(separator: " ")),
                          ("notify.command.timeout", d(command.timeout)),
                          ("notify.command.events", events(notify.events(for: "command")))]
            } else {
                lines.append(("notify.command", "(none)"))
            }
            if let webhook = notify.webhook {
                // The path may hold the receiver's token (chat webhooks put it there): not printed.
                let origin = webhook.url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).prefix(3)
                lines += [("notify.webhook.url", origin.joined(separator: "/") + "/…"),
                          ("notify.webhook.timeout", d(webhook.timeout)),
                          ("notify.webhook.ca_file", webhook.caFile ?? "(the system's certificate authorities)"),
                          ("notify.webhook.secret_file", webhook.secretFile ?? "(none: not signed)"),
                          ("notify.webhook.events", events(notify.events(for: "webhook")))]
            } else {
                lines.append(("notify.webhook", "(none)"))
            }
            return lines
        }
    }
}
