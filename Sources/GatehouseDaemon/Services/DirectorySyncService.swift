public import GatehouseFormat
import GatehouseKit
public import GatehouseNotify
public import Logging
public import ServiceLifecycle

/// Follows the network's directory while the gateway runs (DIRECTORY.md §7): every `interval`,
/// when the home joined a network, fetches and verifies what is new from its relay, judges the
/// checkpoints seen from partners, and watches its own ODS code. Every refusal is logged as an
/// error, and its evidence stays under `directory/evidence/` for `doctor` to report; a rollback,
/// a fork, an equivocation or a foreign listing of the own code is also announced once
/// (`directory.alarm`, docs/NOTIFY.md).
///
/// Nodes sharing a home (a shared journal) share its `directory/` folder: only the node holding
/// the spool lease syncs (`mayRun`), so that one writer keeps the copy and its evidence.
public struct DirectorySyncService: Service {
    /// How often the directory is synced: a checkpoint download when nothing changed.
    public static let defaultInterval: Duration = .seconds(60)

    let fetcher: DirectoryFetcher
    let own: IdentityCard
    let interval: Duration
    let logger: Logger
    let notifier: Notifier?
    let mayRun: @Sendable () async -> Bool

    /// A service syncing `fetcher`'s directory every `interval` while `mayRun` says so, telling
    /// `notifier` of alarms.
    public init(
        fetcher: DirectoryFetcher, own: IdentityCard, interval: Duration = DirectorySyncService.defaultInterval,
        logger: Logger, notifier: Notifier? = nil, mayRun: @escaping @Sendable () async -> Bool = { true }
    ) {
        self.fetcher = fetcher
        self.own = own
        self.interval = interval
        self.logger = logger
        self.notifier = notifier
        self.mayRun = mayRun
    }

    /// A service for `engine`'s gateway: it tells the engine's notifier of alarms and, with a
    /// shared journal, syncs only while the engine holds the spool lease.
    public init(
        engine: GatewayEngine, fetcher: DirectoryFetcher, own: IdentityCard,
        interval: Duration = DirectorySyncService.defaultInterval, logger: Logger
    ) {
        self.init(fetcher: fetcher, own: own, interval: interval, logger: logger, notifier: engine.notifier,
                  mayRun: { await engine.holdsSpoolLeaseNow })
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await syncOnce()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One round, on the node allowed to (`mayRun`): sync, judge what partners showed, check the
    /// own listing. Returns what the log was told, for tests.
    @discardableResult
    public func syncOnce() async -> [String] {
        let client = DirectoryClient(home: fetcher.home)
        guard client.hasJoined, await mayRun() else { return [] }
        var said: [String] = []
        func error(_ message: String, alarm: String? = nil, proof: [UInt8] = []) {
            said.append(message)
            logger.error("\(message)", metadata: ["gatehouse.directory": "refused"])
            if let alarm, let notifier { DirectoryAlarm.emit(notifier, alarm, message, proof: proof) }
        }
        func evidence(_ path: String) -> [UInt8] {
            (try? FileOperations.read(at: path, limit: SignedNote.maxLength) ?? nil) ?? Array(path.utf8)
        }
        do {
            switch try await fetcher.sync() {
            case .updated(let range):
                if !range.isEmpty {
                    logger.info("directory: verified \(range.count) new entries, \(range.upperBound) in all")
                }
            case .refused(let refusal, let file):
                let alarm: String? =
                    switch refusal {
                    case .rollback: "rollback"
                    case .inconsistent: "fork"
                    case .unverifiable: nil  // changed or stale tiles: no proof the authority lied
                    case .halted: nil  // announced when the proof was found
                    }
                error("\(refusal.description); evidence kept in \(file)", alarm: alarm, proof: evidence(file))
            case .unwitnessed(let cosigned, let required):
                let message = "directory: the new checkpoint has \(cosigned) of the \(required) witness cosignatures "
                    + "required; not trusted yet"
                logger.warning("\(message)")
            }
            for file in try client.compareSeen() {
                error(
                    "directory equivocation: a checkpoint seen from a partner contradicts the trusted one; evidence "
                        + "in \(file)", alarm: "equivocation", proof: evidence(file))
            }
            if let watch = try client.watch(own: own), watch.ownListingIsForeign, let listing = watch.ownListing {
                error(
                    "the directory lists \(own.org) at entry \(listing.index) with another root key (fingerprint "
                        + "\(listing.card.fingerprint)): someone else may have been admitted under this ODS code",
                    alarm: "foreign-listing", proof: Array("\(listing.index):\(listing.card.fingerprint)".utf8))
            }
        } catch {
            said.append("\(error)")
            logger.warning("directory: sync failed: \(error)")
        }
        return said
    }
}
