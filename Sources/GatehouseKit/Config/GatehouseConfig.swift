public import GatehouseFormat

/// The gateway's settings, from `gatehouse.toml` in the home folder. A missing file means the
/// defaults; a bad file is refused at start with the line and key named.
public struct GatehouseConfig: Sendable, Equatable {
    /// What happens to originals once acknowledged.
    public enum Retention: String, Sendable {
        /// Move them to `spool/sent/<bundle id>/`.
        case keep
        /// Delete them.
        case delete
    }

    /// Where this gateway collects (default: the address on its own card).
    public var mailbox: MailboxAddress?
    /// Undelivered or unacknowledged bundles expire after this.
    public var expiry: Duration = .seconds(24 * 3600)
    /// The first retry waits up to this long.
    public var retryInitial: Duration = .seconds(1)
    /// No retry waits longer than this.
    public var retryMax: Duration = .seconds(300)
    /// Consecutive failures that open a partner's circuit breaker.
    public var breakerFailures = 5
    /// How long an open breaker waits before a trial delivery.
    public var breakerCooldown: Duration = .seconds(60)
    /// Full rescan of the outbox.
    public var rescanInterval: Duration = .seconds(30)
    /// A file whose size has not changed for this long is complete.
    public var stableWindow: Duration = .seconds(2)
    /// Acknowledged originals: keep or delete.
    public var retention = Retention.keep
    /// At most this many records waiting for the same partner travel in one bundle.
    public var bundleMaxFiles = 256
    /// Records travel together in one bundle up to this many MiB (a larger record travels alone).
    public var bundleMaxMiB = 16
    /// How often the own mailbox is checked.
    public var pollInterval: Duration = .seconds(1)
    /// How a `dir:` mailbox learns of new mail: inotify (unless on a network file system) or polling.
    public var mailboxWatching = MailboxWatching.auto
    /// The own mailbox failing to list for longer than this makes `/healthz` report degraded.
    public var unreachableAfter: Duration = .seconds(120)
    /// A key manifest a partner has not confirmed is put in its mailbox again this often.
    public var manifestResend: Duration = .seconds(600)
    /// A revocation a partner has not confirmed for this long is a warning.
    public var revocationConfirmWithin: Duration = .seconds(3600)
    /// How often the running gateway syncs the directory it joined (`[directory] sync_interval`).
    public var directorySyncInterval: Duration = .seconds(60)
    /// A directory checkpoint older than this is a warning: served stale (`[directory] stale_after`).
    public var directoryStaleAfter: Duration = .seconds(2 * 86_400)
    /// What this gateway accepts from a partner (checked before anything is written).
    public var limits = ReceiveLimits()
    /// Where verified records are published for staff (`[publish]`); nil: `spool/received/`,
    /// private to the gateway's user.
    public var publish: PublishSettings?
    /// Per-partner mailbox overrides.
    public var partnerMailboxes: [ODSCode: MailboxAddress] = [:]
    /// The workflows packs may name, the default, and where each is published (`[workflows]`).
    public var workflows = WorkflowSettings()
    /// `[journal]`: PostgreSQL instead of the SQLite file; nil for the SQLite file.
    public var journal: JournalSettings?
    /// `[tenants]`: the organisation homes this service runs; nil for a single gateway.
    public var tenants: TenantSettings?
    /// Who is told when something needs a person (`[notify]`).
    public var notify = NotifySettings()
    /// The staff web application (`[web]`).
    public var web = WebSettings()

    /// The defaults.
    public init() {}

    /// The mailbox to deliver to `partner`: the override, else the address on its card.
    public func mailbox(for partner: IdentityCard) throws(KitError) -> MailboxAddress? {
        if let override = partnerMailboxes[partner.org] { return override }
        return try partner.mailbox.map { (text) throws(KitError) in try MailboxAddress(text) }
    }

    /// Reads `<home>/gatehouse.toml`; defaults when there is none.
    public static func load(home: GatehouseHome) throws(KitError) -> GatehouseConfig {
        let path = home.configPath
        guard let bytes = try FileOperations.read(at: path, limit: 1 << 20) else { return GatehouseConfig() }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidInput("\(path) is not UTF-8 text", path: path) }
        return try parse(text, file: path)
    }

    /// Parses the text of a configuration file.
    public static func parse(_ text: String, file: String = "gatehouse.toml") throws(KitError) -> GatehouseConfig {
        let reader = try ConfigReader(text, file: file)
        var config = GatehouseConfig()
        let known: Set<String> = ["organisation", "delivery", "spool", "collector", "keys", "limits", "publish", "partners",
                                  "workflows", "notify", "web", "directory", "journal", "tenants"]
        for (table, line) in reader.tables {
            let parts = table.split(separator: ".")
            let perItem = parts.count == 2 && (parts[0] == "partners" || parts[0] == "workflows")
            let notify = NotifySettings.tables.contains(table)
            guard known.contains(String(parts[0])), parts.count == 1 || perItem || notify else {
                throw reader.error(line, "unknown table [\(table)] (known: [organisation], [delivery], [spool], "
                    + "[collector], [keys], [limits], [publish], [journal], [tenants], [partners.ODS], [workflows], "
                    + "[workflows.NAME], [notify], [notify.command], [notify.webhook], [web], [directory])")
            }
            if parts[0] == "partners" && parts.count == 2 {
                do { _ = try ODSCode(userInput: String(parts[1])) } catch { throw reader.error(line, "[\(table)]: \(error.detail)") }
            }
            if parts[0] == "workflows" && parts.count == 2 {
                do { _ = try Workflow(String(parts[1])) } catch {
                    throw reader.error(line, "[\(table)]: \(error.detail)")
                }
            }
        }
        var publishFolder: String?, publishGroup: String?
        var journal = JournalSettings(url: "")
        for (key, entry) in reader.entries.sorted(by: { $0.value.line < $1.value.line }) {
            let at = { (why: String) in reader.error(entry.line, "key '\(key)': \(why)") }
            switch key {
            case "organisation.mailbox": config.mailbox = try address(entry, at)
            case "delivery.expiry": config.expiry = try duration(entry, at, minimum: .seconds(60))
            case "delivery.retry_initial": config.retryInitial = try duration(entry, at)
            case "delivery.retry_max": config.retryMax = try duration(entry, at)
            case "delivery.breaker_failures": config.breakerFailures = try integer(entry, at, in: 1...1000)
            case "delivery.breaker_cooldown": config.breakerCooldown = try duration(entry, at)
            case "spool.rescan_interval": config.rescanInterval = try duration(entry, at)
            case "spool.stable_window": config.stableWindow = try duration(entry, at)
            case "spool.retention":
                guard case .string(let text) = entry.value, let retention = Retention(rawValue: text) else {
                    throw at("expected \"keep\" or \"delete\"")
                }
                config.retention = retention
            case "spool.bundle_max_files": config.bundleMaxFiles = try integer(entry, at, in: 1...512)
            case "spool.bundle_max_mb": config.bundleMaxMiB = try integer(entry, at, in: 1...1024)
            case "collector.poll_interval": config.pollInterval = try duration(entry, at)
            case "collector.watch":
                guard case .string(let text) = entry.value, let watching = MailboxWatching(rawValue: text) else {
                    throw at("expected \"auto\" or \"poll\"")
                }
                config.mailboxWatching = watching
            case "collector.unreachable_after": config.unreachableAfter = try duration(entry, at, minimum: .seconds(1))
            case "keys.manifest_resend": config.manifestResend = try duration(entry, at)
            case "keys.revocation_confirm_within": config.revocationConfirmWithin = try duration(entry, at)
            case "directory.sync_interval": config.directorySyncInterval = try duration(entry, at, minimum: .seconds(1))
            case "directory.stale_after": config.directoryStaleAfter = try duration(entry, at, minimum: .seconds(60))
            case "limits.bundle_max_mb": config.limits.bundleMaxBytes = Int64(try integer(entry, at, in: 1...1_048_576)) << 20
            case "limits.unpacked_max_mb": config.limits.unpackedMaxBytes = Int64(try integer(entry, at, in: 1...1_048_576)) << 20
            case "limits.files_max": config.limits.filesMax = try integer(entry, at, in: 1...PayloadLayout.maxFiles)
            case "limits.free_space_reserve_mb": config.limits.freeSpaceReserve = Int64(try integer(entry, at, in: 0...1_048_576)) << 20
            case "limits.clock_tolerance": config.limits.clockTolerance = try duration(entry, at, minimum: .seconds(60))
            case "limits.unknown_sender_hold": config.limits.unknownSenderHold = try duration(entry, at)
            case "limits.quarantine_per_sender": config.limits.quarantinePerSender = try integer(entry, at, in: 1...1_000_000)
            case "limits.quarantine_max_mb": config.limits.quarantineMaxBytes = Int64(try integer(entry, at, in: 1...1_048_576)) << 20
            case "limits.held_expire": config.limits.heldExpire = try duration(entry, at, minimum: .seconds(1))
            case "limits.held_per_sender": config.limits.heldPerSender = try integer(entry, at, in: 1...ReceiveLimits.heldMaxItems)
            case "limits.held_max_mb": config.limits.heldMaxBytes = Int64(try integer(entry, at, in: 1...1_048_576)) << 20
            case "publish.folder":
                guard case .string(let text) = entry.value, text.utf8.first == UInt8(ascii: "/") else {
                    throw at("expected a quoted absolute path like \"/srv/gatehouse/published\"")
                }
                publishFolder = text
            case "publish.group":
                guard case .string(let text) = entry.value, !text.isEmpty else { throw at("expected a quoted group name like \"healthcare\"") }
                publishGroup = text
            case "journal.url":
                guard case .string(let text) = entry.value else { throw at("expected a quoted postgres:// url") }
                if let problem = JournalSettings.checkURL(text) { throw at(problem) }
                journal.url = text
            case "journal.password_file": journal.passwordFile = try absolutePath(entry, at)
            case "journal.ca_file": journal.caFile = try absolutePath(entry, at)
            case "journal.tls":
                guard case .string(let text) = entry.value, let tls = JournalSettings.TLS(rawValue: text) else {
                    throw at("expected \"require\" or \"disable\"")
                }
                journal.tls = tls
            case "journal.node":
                guard case .string(let text) = entry.value, (1...64).contains(text.utf8.count),
                      text.utf8.allSatisfy({ $0 < 0x80 && $0 > 0x20 }) else {
                    throw at("expected a quoted node id of 1 to 64 printable ASCII characters")
                }
                journal.node = text
            case "journal.lease": journal.lease = try duration(entry, at, minimum: .seconds(2))
            case "tenants.homes":
                guard case .strings(let paths) = entry.value, !paths.isEmpty,
                      paths.allSatisfy({ $0.utf8.first == UInt8(ascii: "/") }) else {
                    throw at("expected a one-line list of quoted absolute paths like [\"/srv/gatehouse/orgs/A81001\"]")
                }
                config.tenants = config.tenants ?? TenantSettings()
                config.tenants?.homes = paths
            case "tenants.folder":
                config.tenants = config.tenants ?? TenantSettings()
                config.tenants?.folder = try absolutePath(entry, at)
            case "workflows.names": config.workflows.names = try WorkflowSettings.list(entry, at)
            case "workflows.default": config.workflows.defaultWorkflow = try WorkflowSettings.workflow(entry, at)
            case let web where web.hasPrefix("web."): try config.web.set(web, entry, at)
            default:
                let parts = key.split(separator: ".")
                if parts[0] == "notify" {
                    try config.notify.set(key, entry, at) { (entry, minimum) throws(KitError) in
                        try duration(entry, at, minimum: minimum)
                    }
                } else if parts.count == 3, parts[0] == "partners", parts[2] == "mailbox",
                          let org = try? ODSCode(userInput: String(parts[1])) {
                    config.partnerMailboxes[org] = try address(entry, at)
                } else if parts.count == 3, parts[0] == "workflows", parts[2] == "folder",
                          let flow = try? Workflow(String(parts[1])) {
                    config.workflows.folders[flow] = try WorkflowSettings.folder(entry, at)
                } else {
                    throw at("unknown key (see `gatehouse config check --default` for every key)")
                }
            }
        }
        switch (publishFolder, publishGroup) {
        case (let folder?, let group?): config.publish = PublishSettings(folder: folder, group: group)
        case (nil, nil): break
        default:
            let line = reader.entries["publish.folder"]?.line ?? reader.entries["publish.group"]?.line ?? 0
            throw reader.error(line, "[publish] needs both 'folder' and 'group'")
        }
        let journalKeys = reader.entries.keys.filter { $0.hasPrefix("journal.") }
        if !journalKeys.isEmpty {
            guard !journal.url.isEmpty else {
                throw reader.error(reader.entries[journalKeys.sorted()[0]]?.line ?? 0, "[journal] needs 'url'")
            }
            config.journal = journal
        }
        try config.notify.check(reader)
        if let problem = config.web.tlsPairProblem {
            let line = reader.entries["web.tls_certificate"]?.line ?? reader.entries["web.tls_key"]?.line ?? 0
            throw reader.error(line, "[web] \(problem)")
        }
        guard config.retryInitial <= config.retryMax else {
            throw reader.error(reader.entries["delivery.retry_initial"]?.line ?? 0, "key 'delivery.retry_initial' is longer than 'delivery.retry_max'")
        }
        guard config.workflows.names.contains(config.workflows.defaultWorkflow) else {
            let line = reader.entries["workflows.default"]?.line ?? reader.entries["workflows.names"]?.line ?? 0
            throw reader.error(line, "key 'workflows.default': \(config.workflows.defaultWorkflow) "
                + "is not in 'workflows.names'")
        }
        return config
    }

    private static func address(_ entry: ConfigReader.Entry, _ at: (String) -> KitError) throws(KitError) -> MailboxAddress {
        guard case .string(let text) = entry.value else { throw at("expected a quoted mailbox address like \"dir:/srv/gatehouse/mailboxes\"") }
        do { return try MailboxAddress(text) } catch { throw at(error.message) }
    }

    private static func absolutePath(_ entry: ConfigReader.Entry, _ at: (String) -> KitError) throws(KitError) -> String {
        guard case .string(let text) = entry.value, text.utf8.first == UInt8(ascii: "/") else {
            throw at("expected a quoted absolute path")
        }
        return text
    }

    private static func integer(_ entry: ConfigReader.Entry, _ at: (String) -> KitError, in range: ClosedRange<Int>) throws(KitError) -> Int {
        guard case .integer(let value) = entry.value, range.contains(value) else {
            throw at("expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    private static func duration(_ entry: ConfigReader.Entry, _ at: (String) -> KitError, minimum: Duration = .milliseconds(1)) throws(KitError) -> Duration {
        guard case .string(let text) = entry.value, let value = parseDuration(text) else {
            throw at("expected a quoted duration like \"500ms\", \"30s\", \"5m\", \"24h\" or \"5d\"")
        }
        guard value >= minimum else { throw at("must be at least \(describe(minimum))") }
        return value
    }

    /// Parses `500ms`, `30s`, `5m`, `24h`, `5d`.
    public static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, ms) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            guard let n = Int64(number), n > 0, n <= 10_000_000 else { return nil }
            return .milliseconds(n * ms)
        }
        return nil
    }

    /// `1500ms` → `1.5s`, `86400s` → `24h`: the shortest exact spelling.
    public static func describe(_ duration: Duration) -> String {
        let ms = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        for (suffix, unit) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms % unit == 0 && ms >= unit {
            return "\(ms / unit)\(suffix)"
        }
        return "\(ms)ms"
    }
}

extension GatehouseHome {
    /// `<home>/gatehouse.toml`.
    public var configPath: String { path + "/gatehouse.toml" }
}
