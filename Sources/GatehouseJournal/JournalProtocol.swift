public import GatehouseFormat

/// The gateway's journal: every record's and bundle's state and every transition, whatever
/// holds it. ``SQLiteJournal`` (one gateway, one file, the default) and the PostgreSQL journal
/// (a hosted service on several nodes) implement it; the engine, the metrics and the commands
/// see only this.
///
/// Every call is synchronous and each state change is written with its transition in one
/// transaction: the engine acts on a transition only once it is committed.
public protocol Journal: AnyObject, Sendable {
    // MARK: Outgoing

    /// Records newly claimed bundles, their files, packs and first transitions in one transaction.
    func insert(_ bundles: [NewOutgoing]) throws

    /// Saves `record`; when its state changed, also records the transition. A record in a final
    /// state never leaves it: saving another state over it changes nothing and returns false.
    /// Likewise a `held` bundle (the partner's receipt said so) leaves `held` only for a final
    /// state: a delivery journalled after that receipt keeps it held.
    @discardableResult
    func save(_ record: OutgoingRecord, detail: String?) throws -> Bool

    /// ``save(_:detail:)`` for a transition whose loss in a power cut only makes work be done
    /// again that is safe to repeat (a delivery: the mailbox and the receiver both deduplicate
    /// by bundle id). Committed like any other, so a killed process keeps it, but not waited
    /// for on disk: the next durable commit makes it durable too, never out of order. A
    /// journal that cannot tell the difference saves durably.
    @discardableResult
    func saveRepeatable(_ record: OutgoingRecord, detail: String?) throws -> Bool

    /// The outgoing bundle `bundleID`.
    func outgoing(_ bundleID: BundleID) throws -> OutgoingRecord?

    /// The ids of outgoing bundles that start with `prefix` (lower-case hex), in order, at most `limit`.
    func outgoingIDs(startingWith prefix: String, limit: Int) throws -> [BundleID]

    /// Outgoing bundles in any of `states`, oldest first.
    func outgoing(in states: [OutgoingState]) throws -> [OutgoingRecord]

    /// Bundles waiting to be sealed or delivered whose next attempt is due at `now`, oldest first,
    /// at most `limit`. A journal shared by several nodes hands each due bundle to one node only.
    func dueOutgoing(now: Int64, limit: Int) throws -> [OutgoingRecord]

    /// When the next attempt of a bundle waiting to be sealed or delivered is due, if any.
    func nextAttemptAt() throws -> Int64?

    /// Bundles not yet in a final state whose expiry is at or before `now`.
    func expiredOutgoing(now: Int64) throws -> [OutgoingRecord]

    /// How many outgoing bundles are in each state (states with none are left out).
    func outgoingCounts() throws -> [OutgoingState: Int]

    /// The open bundles for each partner and state, with the claim time of the oldest.
    func openOutgoingByPartner() throws -> [OpenOutgoingCount]

    /// The newest outgoing bundles with their files, newest first, at most `limit`, without their
    /// receipts (for listing; never save a record read here).
    func newestOutgoing(limit: Int) throws -> [(record: OutgoingRecord, files: [OutgoingFile])]

    /// The files of an outgoing bundle, in order.
    func files(of bundleID: BundleID) throws -> [OutgoingFile]

    /// The file of a still-queued bundle claimed from `sourcePath`, if any (a claim not finished).
    func queuedClaim(sourcePath: String) throws -> OutgoingFile?

    /// The newest claim of a file dropped at `sourcePath` whose bundle was created at or after `since`.
    func claim(sourcePath: String, since: Int64) throws -> OutgoingFile?

    /// True when a claimed original at `sourcePath` is already journalled (crash recovery).
    func isClaimed(sourcePath: String) throws -> Bool

    /// Records new sizes for files of a queued bundle, with a transition saying why.
    func resizeFiles(of bundleID: BundleID, sizes: [(position: Int, size: Int64)], at time: Int64, detail: String) throws

    /// Takes a file out of a queued bundle, with a transition saying why.
    func removeFile(of bundleID: BundleID, position: Int, at time: Int64, detail: String) throws

    // MARK: Incoming

    /// The incoming bundle `bundleID`, if it was ever processed.
    func incoming(_ bundleID: BundleID) throws -> IncomingRecord?

    /// Records an incoming bundle's outcome with its transition, and the verified manifest's context
    /// when it was published. Fails if it is already recorded (the receiver deduplicates by bundle id).
    func insert(_ record: IncomingRecord, detail: String?, context: PackContext?) throws

    /// Ends a held incoming bundle's wait: saves `record` (published or rejected, with its final
    /// receipt) over the held one, with its transition and, when published, its verified context.
    /// Returns false, changing nothing, when the bundle is not held (any more): an outcome is
    /// never replaced, whichever node tries.
    @discardableResult
    func resolveHeld(_ record: IncomingRecord, detail: String?, context: PackContext?) throws -> Bool

    /// The incoming bundles held unopened, oldest first.
    func heldIncoming() throws -> [IncomingRecord]

    /// Every incoming bundle, newest first, at most `limit`.
    func allIncoming(limit: Int) throws -> [IncomingRecord]

    /// Incoming bundles matching `filter`, newest first, each with its verified context when it has one,
    /// without their receipts (for listing; never save a record read here).
    func incoming(matching filter: IncomingFilter) throws -> [(record: IncomingRecord, pack: JournalPack?)]

    // MARK: History and packs

    /// Every transition of `bundleID`, in order.
    func transitions(of bundleID: BundleID) throws -> [Transition]

    /// The pack context journalled for `bundleID`, going `out` or coming `in`, if any.
    func pack(of bundleID: BundleID, direction: String) throws -> JournalPack?

    /// The outgoing bundle the gateway claimed from the pack folder `name` (`send-…`), once it has.
    func outgoingBundle(forPack name: String) throws -> BundleID?

    // MARK: Several nodes

    /// True when other processes (nodes) may work on the same organisation through this journal.
    var isShared: Bool { get }

    /// True when this process may claim from the outbox and collect the own mailbox now. A journal
    /// of one gateway always may (the home lock keeps a second daemon out); a journal shared by
    /// several nodes lets one node at a time do it for each organisation, with takeover.
    func holdsSpoolLease() throws -> Bool

    /// Renews this node's membership; throws when it was lost (the daemon must stop).
    func heartbeat() throws

    /// Gives up this node's membership and leases at a graceful stop.
    func leave()
}

extension Journal {
    /// Records a newly claimed bundle and its files, with its first transition.
    public func insert(_ record: OutgoingRecord, files: [OutgoingFile], detail: String? = nil) throws {
        try insert([NewOutgoing(record: record, files: files, detail: detail)])
    }

    /// Saves `record` (see ``save(_:detail:)``).
    @discardableResult
    public func save(_ record: OutgoingRecord) throws -> Bool { try save(record, detail: nil) }

    /// Saves durably: journals without a cheaper commit (see ``saveRepeatable(_:detail:)``).
    @discardableResult
    public func saveRepeatable(_ record: OutgoingRecord, detail: String?) throws -> Bool {
        try save(record, detail: detail)
    }

    /// Records an incoming bundle's outcome (see ``insert(_:detail:context:)``).
    public func insert(_ record: IncomingRecord, detail: String? = nil) throws {
        try insert(record, detail: detail, context: nil)
    }

    /// Ends a held incoming bundle's wait (see ``resolveHeld(_:detail:context:)``).
    @discardableResult
    public func resolveHeld(_ record: IncomingRecord, detail: String? = nil) throws -> Bool {
        try resolveHeld(record, detail: detail, context: nil)
    }

    /// The newest 1,000 incoming bundles.
    public func allIncoming() throws -> [IncomingRecord] { try allIncoming(limit: 1000) }

    /// One gateway, one process.
    public var isShared: Bool { false }

    /// One gateway, one process: always.
    public func holdsSpoolLease() throws -> Bool { true }

    /// Nothing to renew.
    public func heartbeat() throws {}

    /// Nothing to leave.
    public func leave() {}
}
