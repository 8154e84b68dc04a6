import ServiceLifecycle

/// Seals, delivers, retries and expires outgoing bundles, and looks after held incoming ones,
/// until shutdown.
public struct DeliveryService: Service {
    let engine: GatewayEngine
    let wakeup: Wakeup
    let clock: any WallClock

    /// A service driving `engine`'s outgoing work; `wakeup` is raised when records are claimed.
    public init(engine: GatewayEngine, wakeup: Wakeup, clock: any WallClock = SystemWallClock()) {
        self.engine = engine
        self.wakeup = wakeup
        self.clock = clock
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                // New key manifests go out before bundles signed with the new keys. (With several
                // nodes, the one holding the organisation's spool lease looks after its keys.)
                if await engine.holdsSpoolLeaseNow { await engine.maintainKeys() }
                // Held bundles on the same beat (not the collector's, which may wait a minute on
                // a relay for new mail): one whose sender's card was just added (`partners add`)
                // is opened within about a second.
                await engine.upkeepHeld()
                let next = await engine.processOutgoing()
                // Sleep until the next retry is due, a new record is claimed, or a second passes
                // (expiries and breaker cool-downs are checked at least that often).
                let wait = next.map { max(0, min($0 - clock.now(), 1000)) } ?? 1000
                await wakeup.wait(upTo: .milliseconds(wait))
            }
        }
    }
}

/// Collects the own mailbox (bundles and receipts) until shutdown.
public struct CollectorService: Service {
    let engine: GatewayEngine
    let interval: Duration
    let delivered: Wakeup
    let mayCollect: @Sendable () async -> Bool

    /// A service collecting the mailbox whenever the transport reports new mail (an SFTP relay
    /// running `gatehouse sftp-server` does at once) or every `interval` otherwise; raises
    /// `delivered` after handling items (a receipt may free the breaker or end an expiry).
    /// `mayCollect` says whether this node collects now (one node per organisation with a
    /// shared journal).
    public init(engine: GatewayEngine, interval: Duration, delivered: Wakeup,
                mayCollect: @escaping @Sendable () async -> Bool = { true }) {
        self.engine = engine
        self.interval = interval
        self.delivered = delivered
        self.mayCollect = mayCollect
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                guard await mayCollect() else {
                    try? await Task.sleep(for: interval)
                    continue
                }
                let handled = await engine.collect()
                if handled > 0 {
                    delivered.raise()
                    continue
                }
                await engine.waitForMail(upTo: interval)
            }
        }
    }
}
