public import GatehouseNotify
public import ServiceLifecycle

/// Sends queued notifications until shutdown, on its own: a slow or hostile receiver delays
/// only other notifications, never sealing, delivery or collection.
public struct NotifyService: Service {
    let notifier: Notifier
    let mayDrain: @Sendable () async -> Bool
    let wakeup = Wakeup()

    /// A service draining `notifier`'s queue, woken as soon as an event is queued, while
    /// `mayDrain` says so: with several nodes sharing a home (and so `spool/notify/`), only the
    /// node holding the organisation's spool lease sends, so that no event goes out twice.
    public init(notifier: Notifier, mayDrain: @escaping @Sendable () async -> Bool = { true }) {
        self.notifier = notifier
        self.mayDrain = mayDrain
        notifier.onQueued { [wakeup] in wakeup.raise() }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let next = await drainOnce()
                let wait = next.map { max(10, min($0 - SystemWallClock().now(), 5000)) } ?? 5000
                await wakeup.wait(upTo: .milliseconds(wait))
            }
        }
    }

    /// One pass: sends what is due if this node may (else looks again in a second); returns when
    /// the next notice is due (ms since the epoch), nil when none waits.
    public func drainOnce() async -> Int64? {
        guard await mayDrain() else { return SystemWallClock().now() + 1000 }
        return await notifier.drain()
    }
}
