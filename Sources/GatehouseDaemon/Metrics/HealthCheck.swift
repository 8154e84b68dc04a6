import Glibc
package import GatehouseJournal
package import GatehouseKit

/// What `/healthz` checks. Healthy means: the journal can be read and its folder written, every
/// spool folder the gateway writes to accepts a new file, no partner has been unreachable for
/// longer than the delivery expiry, and (with the engine) the own mailbox has been listed within
/// `[collector] unreachable_after` and no partner's circuit breaker is open.
///
/// Writability is tested by writing: a probe file is created, synced and removed in each
/// folder. Permission bits alone would say nothing when the daemon runs as root (root ignores
/// them), and a read-only mount or a folder replaced by a file fails the same way.
package struct HealthCheck: Sendable {
    let spool: SpoolLayout
    let journal: any Journal
    let expiry: Duration
    let clock: any WallClock
    /// The home whose unconfirmed revocations are warnings (nil: not checked).
    let home: GatehouseHome?
    /// How long a partner may take to confirm a revocation.
    let confirmWithin: Duration
    /// How old the directory's checkpoint may get before it is a warning.
    let directoryStaleAfter: Duration

    /// A check of the spool, the journal, and partners unreachable longer than `expiry`; with
    /// `home`, also of revocations partners have not confirmed within `confirmWithin`.
    package init(spool: SpoolLayout, journal: any Journal, expiry: Duration, clock: any WallClock,
                 home: GatehouseHome? = nil, confirmWithin: Duration = .seconds(3600),
                directoryStaleAfter: Duration = .seconds(2 * 86_400)) {
        self.directoryStaleAfter = directoryStaleAfter
        self.spool = spool
        self.journal = journal
        self.expiry = expiry
        self.clock = clock
        self.home = home
        self.confirmWithin = confirmWithin
    }

    /// Warnings that need a person but leave the gateway healthy: revocations that partners have
    /// not confirmed in time.
    package func warnings() -> [String] {
        guard let home, let own = try? KeyStore(home: home).loadOwnCard() else { return [] }
        let partners = ((try? PartnerStore(home: home).list()) ?? []).map(\.org).filter { $0 != own.org }
        return KeyWarnings.unconfirmedRevocations(own: own, partners: partners, ledger: ManifestLedger(home: home),
                                                  within: confirmWithin, now: UInt64(max(0, clock.now() / 1000))).map(\.message)
            + directoryWarnings()
    }

    /// The folders the gateway writes into (the outbox's partner folders are written by producers).
    var folders: [String] {
        [spool.root, spool.work + "/out", spool.work + "/in", spool.received, spool.sent, spool.failed, spool.quarantine,
         spool.evidence + "/out", spool.evidence + "/in"]
    }

    /// Every reason the gateway is unhealthy, in plain words; empty when healthy.
    package func problems() -> [String] {
        var found: [String] = []
        // A shared journal is a database, not the file in the spool: reading it is the check.
        let name = journal.isShared ? "the journal" : "the journal \(spool.journal)"
        do {
            _ = try journal.outgoingCounts()
        } catch {
            found.append("\(name) cannot be read: \(error)")
        }
        if !journal.isShared, access(spool.journal, W_OK) != 0 {
            found.append("the journal \(spool.journal) is not writable: \(String(cString: strerror(errno)))")
        }
        for folder in folders {
            if let failure = Self.probe(folder) { found.append("the spool folder \(folder) is not writable: \(failure)") }
        }
        let now = clock.now()
        let limit = RetryPolicy.milliseconds(expiry)
        for (partner, since) in DaemonMetrics.unreachablePartners().sorted(by: { $0.key < $1.key }) where now - since > limit {
            found.append("partner \(partner) has been unreachable for \((now - since) / 1000) s, longer than the delivery expiry (\(limit / 1000) s): every delivery since then failed")
        }
        return found + directoryProblems()
    }

    /// Every reason the gateway is unhealthy, with the engine's view of delivery: a relay outage
    /// stops collection and opens breakers long before the delivery expiry, and must not leave
    /// `/healthz` green while only a metric moves.
    package func problems(including engine: GatewayEngine) async -> [String] {
        problems() + (await engine.deliveryProblems())
    }

    /// Creates, syncs and removes a probe file in `folder`; the failure in words, or nil.
    static func probe(_ folder: String) -> String? {
        let path = "\(folder)/.healthz-\(getpid())"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { unlink(path) }
        var byte: UInt8 = 0x0a
        let written = write(fd, &byte, 1)
        let synced = written == 1 ? fsync(fd) : -1
        let failure = synced == 0 ? nil : String(cString: strerror(errno))
        close(fd)
        return failure
    }
}
