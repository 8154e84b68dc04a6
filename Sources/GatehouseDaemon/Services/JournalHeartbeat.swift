public import GatehouseJournal
import Logging
public import ServiceLifecycle

/// Renews this node's lease in a shared journal until shutdown, then leaves. A lease that cannot
/// be renewed ends the service with an error, and with it the daemon: another node takes its
/// work over, and a node that kept working after that could do it twice.
public struct JournalHeartbeat: Service {
    let journal: any Journal
    let interval: Duration
    let logger: Logger

    /// Renews every `interval` (a third of the lease, so two renewals may fail before it runs out).
    public init(journal: any Journal, interval: Duration, logger: Logger) {
        self.journal = journal
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        defer { journal.leave() }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try journal.heartbeat()
            try? await Task.sleep(for: interval)
        }
    }
}
