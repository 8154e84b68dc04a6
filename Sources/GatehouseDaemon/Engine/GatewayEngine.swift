import Glibc
import GatehouseCrypto
public import GatehouseFormat
public import GatehouseJournal
public import GatehouseKit
public import GatehouseNotify
public import Logging

/// The gateway's work, serialised in one actor: claiming records, sealing, delivering,
/// expiring, collecting bundles and receipts. Every step is journalled before and after its
/// side effect, and every step can be repeated after a crash without losing or duplicating a
/// record (see ``recover()``).
public actor GatewayEngine {
    let gateway: Gateway
    let own: IdentityCard
    let journal: any Journal
    let spool: SpoolLayout
    let settings: DaemonSettings
    let clock: any WallClock
    let logger: Logger
    /// The transport for each organisation's mailbox (partners', and our own).
    let mailboxes: @Sendable (ODSCode) throws -> (any MailboxTransport)?
    let auditLog: AuditLog
    /// Appends to ``auditLog`` and syncs it shortly after, off the records' way (AuditSyncer).
    let auditSyncer: AuditSyncer
    /// Where events a person must hear about go (`[notify]`); see GatewayEngine+Notify.
    let notifier: Notifier
    /// When overdue receipts and expiring keys are next looked for, for notifications.
    var nextNotifyCheck: Int64 = 0
    /// Which own key manifests each partner has confirmed.
    let manifests: ManifestLedger
    var breakers: [ODSCode: CircuitBreaker] = [:]
    var random = SystemRandomNumberGenerator()
    /// When key upkeep (manifest distribution, retiring old secrets, warnings) runs next.
    var nextKeyCheck: Int64 = 0
    /// When a failed manifest delivery to each partner may be tried again.
    var manifestRetryAt: [ODSCode: Int64] = [:]
    /// Expiry warnings already logged, so each is logged once per threshold.
    var warned: Set<String> = []
    /// Mailbox items signed by a key not (yet) in their sender's manifest held here, and when to
    /// look at them again; cleared whenever a partner's newer manifest is accepted.
    var deferred: [String: Int64] = [:]
    /// When each deferred item was first put aside: after `limits.unknownSenderHold` it goes to
    /// quarantine instead of waiting again (a forger can invent key ids for ever).
    var deferredSince: [String: Int64] = [:]
    /// Claims journalled whose move out of the outbox failed (a full disk), by original path:
    /// finished when the file is offered again (at start, ``recover()`` finishes them all).
    var unfinishedClaims: [String: OutgoingFile] = [:]
    /// Each retrying bundle's next attempt and attempt count, also kept here so that a journal
    /// that cannot be written (a full disk) does not make the delivery loop spin.
    var heldBack: [BundleID: (until: Int64, attempts: Int)] = [:]
    /// When each claimed sender was last answered for a refusal made before its signature was
    /// checked (at most once every 10 minutes).
    var unprovenAnswers: [ODSCode: Int64] = [:]
    /// Mailbox items whose local copy is kept between rounds (a bundle that did not fit the disk).
    var keptLocal: Set<String> = []
    /// Uploads in progress already followed (or passed over), by temporary name, while listed.
    var followedUploads: Set<String> = []
    /// The last failure handling each mailbox item, logged once until it changes or the item is handled.
    var itemFailures: [String: String] = [:]
    /// What the quarantine holds (read from the spool at first use), to keep it within its bounds.
    var quarantineIndex: QuarantineIndex?
    /// Bundles held for their sender's card (GatewayEngine+Held.swift).
    var held = HeldWork()
    /// The last failure to list the own mailbox, logged once until listing works again.
    var listingFailure: String?
    /// When listing the own mailbox began to fail (ms), for `/healthz`; nil while it works.
    var listingFailingSince: Int64?
    /// Whether this node held the spool lease at the last check, and the last failure to check
    /// it (logged once until it changes); see ``holdsSpoolLease()``.
    var spoolLease: (held: Bool, failure: String?) = (false, nil)

    /// An engine for the gateway at `home`, telling `notifier` what people must hear about.
    public init(gateway: Gateway, journal: any Journal, settings: DaemonSettings, clock: any WallClock = SystemWallClock(),
                logger: Logger, notifier: Notifier? = nil,
                mailboxes: @escaping @Sendable (ODSCode) throws -> (any MailboxTransport)?) throws {
        self.gateway = gateway
        own = try gateway.keys.loadOwnCard()
        self.journal = journal
        spool = SpoolLayout(home: gateway.home)
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.mailboxes = mailboxes
        auditLog = AuditLog(home: gateway.home)
        auditSyncer = AuditSyncer(log: auditLog) { [logger] error in
            logger.error("syncing the audit log failed: \(error)")
        }
        self.notifier = notifier ?? .disabled(own.org)
        manifests = ManifestLedger(home: gateway.home)
        try spool.create()
        try checkWorkflowFolders()
    }

    /// This organisation's code.
    public nonisolated var org: ODSCode { own.org }

    func log(_ level: Logger.Level, _ message: String, bundle: BundleID? = nil, partner: ODSCode? = nil, state: String? = nil) {
        var metadata: Logger.Metadata = [:]
        if let bundle { metadata["gatehouse.bundle"] = "\(bundle)" }
        if let partner { metadata["gatehouse.partner"] = "\(partner)" }
        if let state { metadata["gatehouse.state"] = "\(state)" }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    /// Appends to the audit log (checkpointed with the signing key every
    /// ``AuditLog/checkpointInterval`` entries). A failure is logged; the work goes on.
    ///
    /// The line is written now and synced within 100 ms (``AuditSyncer``): every event audited
    /// here is already committed to the journal, so a sync per line only made records wait.
    func audit(_ event: AuditEvent) {
        let keys = gateway.keys
        do {
            try auditSyncer.append(event) { () throws(KitError) in try keys.loadSigningKey() }
        } catch {
            log(.error, "writing the audit log failed (\(event.event)): \(error)")
        }
    }

    /// The kind of a failure for the audit log: the text before the first colon, so that no file
    /// name or other detail from a message reaches it.
    static func category(_ reason: String?) -> String? {
        reason.map { String($0.prefix { $0 != ":" }.prefix(60)) }
    }

    /// The transport for `org`'s mailbox, or an error naming what is missing.
    func transport(for org: ODSCode) throws -> any MailboxTransport {
        guard let transport = try mailboxes(org) else { throw MailboxConnector.noAddress(org) }
        return transport
    }

    // MARK: Crash recovery

    /// Brings the spool and the journal back into agreement after a crash: finishes claims that
    /// were journalled but not moved, and removes temporary files and staging folders.
    public func recover() throws {
        // Shared by several nodes, the spool may hold another live node's work: this is done
        // on gaining the spool lease instead (``holdsSpoolLease()``).
        guard !journal.isShared else { return }
        try finishInterruptedClaims()
        FailedFolder.recover(in: spool.failed)
        // Temporary files and staging folders left by a crash hold nothing committed.
        // (work/in holds only copies of what is still in the mailbox: all of it goes.)
        for name in list(spool.work + "/out") where name.hasBytePrefix(".") { removeTree("\(spool.work)/out/\(name)") }
        for name in list(spool.work + "/in") { removeTree("\(spool.work)/in/\(name)") }
    }

    /// Finishes claims that were journalled but not moved out of the outbox.
    func finishInterruptedClaims() throws {
        for record in try journal.outgoing(in: [.queued]) {
            if let name = try packName(of: record.bundleID) {
                try recoverPack(record, name: name)
                continue
            }
            for file in try journal.files(of: record.bundleID) where !exists(file.workPath) {
                if exists(file.sourcePath) {
                    try FileOperations.makeDirectory(spool.outgoingWork(record.bundleID), mode: 0o700)
                    try moveOutOfOutbox(file.sourcePath, to: file.workPath)
                    log(.info, "finished an interrupted claim", bundle: record.bundleID, partner: record.partner)
                } else {
                    try fail(record, reason: "the original \(file.name) vanished before it was sealed")
                    break
                }
            }
        }
    }

    // MARK: File helpers

    nonisolated func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    nonisolated func list(_ folder: String) -> [String] {
        (FileOperations.listFolder(folder) ?? []).sorted()
    }

    /// Renames durably (both folders synced).
    nonisolated func move(_ from: String, to: String) throws {
        try moveAll([(from, to)])
    }

    /// Moves a claimed original out of its outbox folder durably, never following a link put in
    /// place of that folder (a producer can write it: see RealFolder).
    nonisolated func moveOutOfOutbox(_ from: String, to: String) throws {
        try RealFolder.rename(from, to: to)
        for folder in [DurableFile.split(to).folder, DurableFile.split(from).folder] { try DurableFile.syncFolder(folder) }
    }

    /// Renames each pair, then syncs every folder involved once (a bundle of hundreds of files
    /// costs two folder syncs, not hundreds). With `sourcesToo: false` only the folders moved
    /// into are synced (``moveIntoPlace(_:)``).
    nonisolated func moveAll(_ moves: [(from: String, to: String)], sourcesToo: Bool = true) throws {
        var folders: [String] = []
        for (from, to) in moves {
            guard rename(from, to) == 0 else { throw SystemError("moving \(from) to", to) }
            let involved = sourcesToo ? [DurableFile.split(to).folder, DurableFile.split(from).folder] : [DurableFile.split(to).folder]
            for folder in involved where !folders.contains(folder) { folders.append(folder) }
        }
        for folder in folders { try DurableFile.syncFolder(folder) }
    }

    /// Moves finished work out of the way (originals into `sent/`, bundles into `evidence/`):
    /// the folders moved into are synced, those moved from are not.
    ///
    /// Why that is enough: a rename is one change of the file system (ext4, XFS and btrfs
    /// journal it as one transaction), so syncing the folder that gains the name makes the
    /// move durable as a whole. Where a file system kept the old name too after a power cut, a
    /// second name of a finished bundle's file would be left in the work folder: nothing reads
    /// it again (the journal says where the bundle is), so nothing is sent or published twice.
    /// Moves out of the outbox are different (a name left there would be claimed again) and
    /// keep both syncs.
    nonisolated func moveIntoPlace(_ moves: [(from: String, to: String)]) throws {
        try moveAll(moves, sourcesToo: false)
    }

    nonisolated func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            for name in list(path) { removeTree("\(path)/\(name)") }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Writes a human-readable reason file.
    nonisolated func writeReason(_ text: String, to path: String) {
        try? FileOperations.replaceAtomically(at: path, contents: Array((text + "\n").utf8), mode: 0o600)
    }
}
