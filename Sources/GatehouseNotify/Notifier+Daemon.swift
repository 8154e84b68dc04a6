public import GatehouseKit
public import GatehouseFormat
public import Logging
import Glibc

extension Notifier {
    /// The daemon's notifier for `home`: queueing in `spool/notify/`, auditing to the home's
    /// audit log (with signed checkpoints), on the system clock. A webhook URL that cannot be
    /// used stops the daemon at start, not at the first event.
    public static func forDaemon(_ settings: NotifySettings, home: GatehouseHome, organisation: ODSCode,
                                 logger: Logger) throws(KitError) -> Notifier {
        if let webhook = settings.webhook {
            do { _ = try WebhookTarget(webhook) } catch {
                throw .invalidInput("[notify.webhook] url: \(error.message)")
            }
        }
        // The spool exists once the daemon has started; `notify test` may come first.
        if settings.isEnabled { try FileOperations.makeDirectory(home.path + "/spool", mode: 0o700) }
        let keys = KeyStore(home: home)
        let log = AuditLog(home: home)
        return try Notifier(settings: settings, organisation: organisation, folder: home.path + "/spool/notify",
                            logger: logger, clock: { Self.wallClock() }) { event in
            do { try log.append(event) { () throws(KitError) in try keys.loadSigningKey() } } catch {
                logger.error("writing the audit log failed: \(error)")
            }
        }
    }

    /// Milliseconds since the epoch.
    public static func wallClock() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
