/// `[notify]` in `gatehouse.toml`: who is told when something needs a person (a pack arrived, a
/// delivery failed, a key expires), through a command and/or an HTTP webhook. See docs/NOTIFY.md.
public struct NotifySettings: Sendable, Equatable {
    /// Every event kind, in the order documented.
    public static let eventKinds = [
        "pack.received", "pack.held", "delivery.failed", "delivery.expired", "receipt.overdue", "key.expiring",
        "partner.expiring", "revocation.unconfirmed", "directory.alarm",
    ]

    /// A program run with the event on standard input (`[notify.command]`).
    public struct Command: Sendable, Equatable {
        /// The program (absolute path) and its arguments: run directly, never through a shell.
        public var argv: [String]
        /// Killed (SIGKILL) after this long.
        public var timeout: Duration = .seconds(10)
        /// The events it gets (nil: those of `[notify]`).
        public var events: Set<String>?

        /// A command.
        public init(argv: [String], timeout: Duration = .seconds(10), events: Set<String>? = nil) {
            self.argv = argv
            self.timeout = timeout
            self.events = events
        }
    }

    /// An HTTP(S) endpoint the event is POSTed to (`[notify.webhook]`).
    public struct Webhook: Sendable, Equatable {
        /// `http://host[:port]/path` or `https://…`.
        public var url: String
        /// Connecting, and each read or write, gives up after this long; the whole request after
        /// twice this.
        public var timeout: Duration = .seconds(10)
        /// PEM file of the certificate authorities trusted for `https://` (nil: the system store).
        public var caFile: String?
        /// A file holding the shared secret the body is signed with (HMAC-SHA256, header
        /// `X-Gatehouse-Signature`); nil: not signed.
        public var secretFile: String?
        /// The events it gets (nil: those of `[notify]`).
        public var events: Set<String>?

        /// A webhook.
        public init(url: String, timeout: Duration = .seconds(10), caFile: String? = nil, secretFile: String? = nil,
                    events: Set<String>? = nil) {
            self.url = url
            self.timeout = timeout
            self.caFile = caFile
            self.secretFile = secretFile
            self.events = events
        }
    }

    /// The program to run, if any.
    public var command: Command?
    /// The webhook to call, if any.
    public var webhook: Webhook?
    /// The events sent to a target that names none (default: all).
    public var events = Set(eventKinds)
    /// Add subject, NHS numbers and file names to events (off: webhooks often end in chat rooms).
    public var includePatientData = false
    /// A delivered bundle with no receipt after this long is `receipt.overdue` (once per bundle).
    public var receiptOverdue: Duration = .seconds(4 * 3600)
    /// Own keys and partners' cards expiring within this window are announced (once a day each).
    public var expiryWarning: Duration = .seconds(14 * 86_400)
    /// Events waiting to be sent, at most (per target); when full, the oldest is dropped.
    public var queueMax = 1000
    /// An event not sent within this long is dropped.
    public var maxAge: Duration = .seconds(24 * 3600)

    /// The defaults: no targets.
    public init() {}

    /// True when there is somewhere to send events.
    public var isEnabled: Bool { command != nil || webhook != nil }

    /// The events `target` (`command` or `webhook`) gets.
    public func events(for target: String) -> Set<String> {
        (target == "command" ? command?.events : webhook?.events) ?? events
    }

    /// The tables this section may declare.
    static let tables: Set<String> = ["notify", "notify.command", "notify.webhook"]

    /// Sets `key` (`notify.…`) from `entry`.
    mutating func set(_ key: String, _ entry: ConfigReader.Entry, _ at: (String) -> KitError,
                      duration: (ConfigReader.Entry, Duration) throws(KitError) -> Duration) throws(KitError) {
        switch key {
        case "notify.events": events = try Self.eventList(entry, at)
        case "notify.include_patient_data":
            guard case .boolean(let value) = entry.value else { throw at("expected true or false") }
            includePatientData = value
        case "notify.receipt_overdue": receiptOverdue = try duration(entry, .seconds(60))
        case "notify.expiry_warning": expiryWarning = try duration(entry, .seconds(3600))
        case "notify.max_age": maxAge = try duration(entry, .seconds(60))
        case "notify.queue_max":
            guard case .integer(let value) = entry.value, (1...100_000).contains(value) else {
                throw at("expected a whole number from 1 to 100000")
            }
            queueMax = value
        case "notify.command.argv":
            guard case .strings(let argv) = entry.value, let program = argv.first,
                  program.utf8.first == UInt8(ascii: "/"),
                  !argv.contains(where: { $0.unicodeScalars.contains("\0") }) else {
                throw at("expected a list like [\"/usr/local/bin/page-it\", \"--team\", \"it\"]: an absolute program "
                    + "path first (run directly, never through a shell)")
            }
            commandTable.argv = argv
        case "notify.command.timeout": commandTable.timeout = try duration(entry, .seconds(1))
        case "notify.command.events": commandTable.events = try Self.eventList(entry, at)
        case "notify.webhook.url":
            guard case .string(let url) = entry.value, url.hasPrefix("http://") || url.hasPrefix("https://"),
                  url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else {
                throw at("expected a quoted URL like \"https://hooks.example.nhs.uk/gatehouse\" (http:// or https://)")
            }
            webhookTable.url = url
        case "notify.webhook.timeout": webhookTable.timeout = try duration(entry, .seconds(1))
        case "notify.webhook.ca_file": webhookTable.caFile = try Self.path(entry, at)
        case "notify.webhook.secret_file": webhookTable.secretFile = try Self.path(entry, at)
        case "notify.webhook.events": webhookTable.events = try Self.eventList(entry, at)
        default: throw at("unknown key (see `gatehouse config check --default` for every key)")
        }
    }

    /// Fails when a target table was given without its program or URL.
    func check(_ reader: ConfigReader) throws(KitError) {
        if let command, command.argv.isEmpty {
            throw reader.error(reader.tables["notify.command"] ?? 0, "[notify.command] needs 'argv'")
        }
        if let webhook, webhook.url.isEmpty {
            throw reader.error(reader.tables["notify.webhook"] ?? 0, "[notify.webhook] needs 'url'")
        }
    }

    private var commandTable: Command {
        get { command ?? Command(argv: []) }
        set { command = newValue }
    }

    private var webhookTable: Webhook {
        get { webhook ?? Webhook(url: "") }
        set { webhook = newValue }
    }

    private static func eventList(_ entry: ConfigReader.Entry,
                                  _ at: (String) -> KitError) throws(KitError) -> Set<String> {
        guard case .strings(let names) = entry.value else {
            throw at("expected a list like [\"delivery.failed\", \"delivery.expired\"]")
        }
        for name in names where !eventKinds.contains(name) {
            throw at("unknown event '\(name)' (known: \(eventKinds.joined(separator: ", ")))")
        }
        return Set(names)
    }

    private static func path(_ entry: ConfigReader.Entry, _ at: (String) -> KitError) throws(KitError) -> String {
        guard case .string(let text) = entry.value, text.utf8.first == UInt8(ascii: "/") else {
            throw at("expected a quoted absolute path")
        }
        return text
    }
}
