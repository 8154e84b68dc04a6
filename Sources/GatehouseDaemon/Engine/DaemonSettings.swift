import Glibc
public import GatehouseKit

/// The daemon's timing and retention settings (from `gatehouse.toml`).
public struct DaemonSettings: Sendable {
    /// Undelivered or unacknowledged bundles expire after this.
    public var expiry: Duration = .seconds(24 * 3600)
    /// Delivery retries.
    public var retry = RetryPolicy()
    /// Consecutive failures that open a partner's circuit breaker.
    public var breakerFailures = 5
    /// How long an open breaker waits.
    public var breakerCooldown: Duration = .seconds(60)
    /// Full outbox rescan interval.
    public var rescanInterval: Duration = .seconds(30)
    /// A file whose size has not changed for this long is complete.
    public var stableWindow: Duration = .seconds(2)
    /// How often the own mailbox is checked.
    public var pollInterval: Duration = .seconds(1)
    /// The own mailbox failing to list for longer than this makes `/healthz` report degraded.
    public var unreachableAfter: Duration = .seconds(120)
    /// A directory checkpoint older than this is a warning (`[directory] stale_after`).
    public var directoryStaleAfter: Duration = .seconds(2 * 86_400)
    /// Keep acknowledged originals in `spool/sent/` (else delete them).
    public var keepSent = true
    /// At most this many records claimed together for one partner share a bundle.
    public var bundleMaxFiles = 256
    /// Records share a bundle up to this many bytes in total (a larger record travels alone).
    public var bundleMaxBytes: Int64 = 16 << 20

    /// An unconfirmed key manifest is put in a partner's mailbox again this often.
    public var manifestResend: Duration = .seconds(600)
    /// A revocation unconfirmed for this long is a warning (keys status, doctor, /healthz).
    public var revocationConfirmWithin: Duration = .seconds(3600)
    /// An upload in progress that gains no byte for this long is no longer followed (not in
    /// `gatehouse.toml`): its bundle is collected from the listing once published. Short: a
    /// sealer streams its upload without pauses, and an upload whose sender is stuck (cut off
    /// from its journal, say) must not hold the collector.
    public var followIdle: Duration = .seconds(3)
    /// No upload in progress is followed for longer than this (not in `gatehouse.toml`): the
    /// collector follows one at a time, and other mail must not wait behind a slow upload.
    public var followLimit: Duration = .seconds(60)
    /// What is accepted from partners.
    public var limits = ReceiveLimits()
    /// The workflows packs may name, and where received packs of each are published.
    public var workflows = WorkflowSettings()
    /// Where verified records are published (`[publish]`); nil: `spool/received/`, private.
    /// Resolved by the caller (``PublishTarget/init(settings:)``), which checks the group.
    public var publish: PublishTarget?

    /// Defaults.
    public init() {}

    /// The settings `gatehouse.toml` gives.
    public init(config: GatehouseConfig) {
        expiry = config.expiry
        retry = RetryPolicy(initial: config.retryInitial, maximum: config.retryMax)
        breakerFailures = config.breakerFailures
        breakerCooldown = config.breakerCooldown
        rescanInterval = config.rescanInterval
        stableWindow = config.stableWindow
        pollInterval = config.pollInterval
        unreachableAfter = config.unreachableAfter
        directoryStaleAfter = config.directoryStaleAfter
        keepSent = config.retention == .keep
        bundleMaxFiles = config.bundleMaxFiles
        bundleMaxBytes = Int64(config.bundleMaxMiB) << 20
        manifestResend = config.manifestResend
        revocationConfirmWithin = config.revocationConfirmWithin
        limits = config.limits
        workflows = config.workflows
    }
}

/// The time, in milliseconds since the Unix epoch; tests substitute a clock they move by hand.
public protocol WallClock: Sendable {
    /// Now.
    func now() -> Int64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    /// The system clock.
    public init() {}

    public func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
