public import GatehouseFormat
import GatehouseKit
public import Logging
public import ServiceLifecycle

/// Follows the network's directory while the gateway runs (DIRECTORY.md §7): every `interval`,
/// when the home joined a network, fetches and verifies what is new from its relay, judges the
/// checkpoints seen from partners, and watches its own ODS code. Every refusal is logged as an
/// error, and its evidence stays under `directory/evidence/` for `doctor` to report.
public struct DirectorySyncService: Service {
    /// How often the directory is synced: a checkpoint download when nothing changed.
    public static let defaultInterval: Duration = .seconds(60)

    let fetcher: DirectoryFetcher
    let own: IdentityCard
    let interval: Duration
    let logger: Logger

    /// A service syncing `fetcher`'s directory every `interval`.
    public init(
        fetcher: DirectoryFetcher, own: IdentityCard, interval: Duration = DirectorySyncService.defaultInterval,
        logger: Logger
    ) {
        self.fetcher = fetcher
        self.own = own
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await syncOnce()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One round: sync, judge what partners showed, check the own listing. Returns what the log
    /// was told, for tests.
    @discardableResult
    public func syncOnce() async -> [String] {
        let client = DirectoryClient(home: fetcher.home)
        guard client.hasJoined else { return [] }
        var said: [String] = []
        func error(_ message: String) {
            said.append(message)
            logger.error("\(message)", metadata: ["gatehouse.directory": "refused"])
        }
        do {
            switch try await fetcher.sync() {
            case .updated(let range):
                if !range.isEmpty {
                    logger.info("directory: verified \(range.count) new entries, \(range.upperBound) in all")
                }
            case .refused(let refusal, let evidence):
                error("\(refusal.description); evidence kept in \(evidence)")
            case .unwitnessed(let cosigned, let required):
                let message = "directory: the new checkpoint has \(cosigned) of the \(required) witness cosignatures "
                    + "required; not trusted yet"
                logger.warning("\(message)")
            }
            for file in try client.compareSeen() {
                error(
                    "directory equivocation: a checkpoint seen from a partner contradicts the trusted one; evidence "
                        + "in \(file)"
                )
            }
            if let watch = try client.watch(own: own), watch.ownListingIsForeign, let listing = watch.ownListing {
                error(
                    "the directory lists \(own.org) at entry \(listing.index) with another root key (fingerprint "
                        + "\(listing.card.fingerprint)): someone else may have been admitted under this ODS code")
            }
        } catch {
            said.append("\(error)")
            logger.warning("directory: sync failed: \(error)")
        }
        return said
    }
}
