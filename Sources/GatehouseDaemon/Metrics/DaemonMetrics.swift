import CoreMetrics
import GatehouseFormat
import GatehouseJournal
import Synchronization

/// The events the engine reports as it works: counters and the delivery-latency histogram
/// through swift-metrics (no-ops until `gatehouse run --metrics` bootstraps the Prometheus
/// exporter), and each partner's reachability for `/healthz`.
///
/// Every hook is one call from the engine, so the engine's files stay about the engine.
package enum DaemonMetrics {
    /// Names of the event metrics (scrape-time gauges are in ``MetricsExporter``).
    package enum Name {
        static let sealedBytes = "gatehouse_sealed_bytes_total"
        static let openedBytes = "gatehouse_opened_bytes_total"
        static let retries = "gatehouse_retries_total"
        static let finished = "gatehouse_bundles_finished_total"
        static let latency = "gatehouse_delivery_latency_seconds"
    }

    /// A bundle of `bytes` bytes was sealed for `partner`.
    package static func sealed(bytes: Int64?, partner: ODSCode) {
        Counter(label: Name.sealedBytes, dimensions: [("partner", partner.value)]).increment(by: max(0, bytes ?? 0))
    }

    /// A bundle of `bytes` bytes from `sender` was verified, opened and published.
    package static func opened(bytes: UInt64, sender: ODSCode) {
        Counter(label: Name.openedBytes, dimensions: [("partner", sender.value)]).increment(by: Int64(clamping: bytes))
    }

    /// Sealing or delivering a bundle for `partner` failed and will be tried again.
    package static func retried(partner: ODSCode) {
        Counter(label: Name.retries, dimensions: [("partner", partner.value)]).increment()
    }

    /// A bundle reached a final state (acknowledged, failed or expired) at `now` (ms); an
    /// acknowledged one adds its claim-to-receipt time to the latency histogram.
    package static func finished(_ record: OutgoingRecord, now: Int64) {
        Counter(label: Name.finished, dimensions: [("partner", record.partner.value), ("state", record.state.rawValue)]).increment()
        guard record.state == .acknowledged else { return }
        CoreMetrics.Timer(label: Name.latency, dimensions: [("partner", record.partner.value)])
            .recordMilliseconds(max(0, now - record.createdAt))
    }

    /// A delivery to `partner`'s mailbox succeeded.
    package static func delivered(to partner: ODSCode) {
        failingSince.withLock { _ = $0.removeValue(forKey: partner.value) }
    }

    /// A delivery to `partner`'s mailbox failed at `now` (ms).
    package static func deliveryFailed(to partner: ODSCode, now: Int64) {
        failingSince.withLock { if $0[partner.value] == nil { $0[partner.value] = now } }
    }

    /// For each partner whose deliveries have all failed since some moment, that moment (ms):
    /// the first failure after the last success.
    package static func unreachablePartners() -> [String: Int64] {
        failingSince.withLock { $0 }
    }

    private static let failingSince = Mutex<[String: Int64]>([:])
}
