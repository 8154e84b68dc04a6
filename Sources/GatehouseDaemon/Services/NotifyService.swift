public import GatehouseNotify
public import ServiceLifecycle

/// Sends queued notifications until shutdown, on its own: a slow or hostile receiver delays
/// only other notifications, never sealing, delivery or collection.
public struct NotifyService: Service {
    let notifier: Notifier
    let wakeup = Wakeup()

    /// A service draining `notifier`'s queue, woken as soon as an event is queued.
    public init(notifier: Notifier) {
        self.notifier = notifier
        notifier.onQueued { [wakeup] in wakeup.raise() }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let next = await notifier.drain()
                let wait = next.map { max(10, min($0 - SystemWallClock().now(), 5000)) } ?? 5000
                await wakeup.wait(upTo: .milliseconds(wait))
            }
        }
    }
}
