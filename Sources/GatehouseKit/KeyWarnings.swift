public import GatehouseFormat

/// Expiry warnings for the own keys and manifest and for partners' manifests: 30 days and 7
/// days ahead, and once expired. Shown by `gatehouse keys status`, logged by the daemon once per
/// threshold (again after each restart), and shown by `gatehouse status`.
public enum KeyWarnings {
    /// The two warning thresholds, in days.
    public static let thresholds: [UInt64] = [7, 30]

    /// One warning.
    public struct Warning: Sendable, Hashable, Codable {
        /// What it is about and which threshold, e.g. `own-manifest-7`; stable, for de-duplication.
        public let key: String
        /// Days until the expiry (negative once expired).
        public let days: Int64
        /// The partner concerned (an unconfirmed revocation), for notifications.
        public var partner: ODSCode?
        /// The sentence for people.
        public let message: String
    }

    /// Whether a partner's manifest is stale: expired, or expiring within 30 days with no newer
    /// one received.
    public static func isStale(_ card: IdentityCard, now: UInt64) -> Bool {
        card.expires <= now + thresholds.last! * 86_400
    }

    /// Every warning due at `now`.
    public static func warnings(own: IdentityCard, partners: [IdentityCard], now: UInt64) -> [Warning] {
        var found: [Warning] = []
        func check(_ subject: String, _ what: String, expires: UInt64, advice: String) {
            guard let level = level(expires, now: now) else { return }
            let days = (Int64(clamping: expires) - Int64(clamping: now)) / 86_400
            let when = expires <= now
                ? "expired at \(RFC3339.format(expires) ?? "?")"
                : "expires at \(RFC3339.format(expires) ?? "?"), within \(level) days"
            found.append(Warning(key: "\(subject)-\(expires <= now ? "expired" : String(level))", days: days, message: "\(what) \(when): \(advice)"))
        }
        let rotate = "run `gatehouse keys rotate` (partners receive the new manifest by themselves)"
        check("own-manifest", "\(own.org)'s key manifest (version \(own.manifest.version))", expires: own.expires, advice: rotate)
        for record in [own.manifest.currentSigning, own.manifest.currentEncryption] {
            guard case .current(let until) = record.state else { continue }
            check("own-key-\(record.id.hex)", "\(own.org)'s \(record.key.role) key \(record.id)", expires: until, advice: rotate)
        }
        for card in partners {
            check("partner-\(card.org.value)-\(card.manifest.version)", "partner \(card.org)'s key manifest (version \(card.manifest.version)) is stale: it", expires: card.expires,
                  advice: "no newer one has arrived; ask \(card.org) to run `gatehouse keys rotate`")
        }
        return found
    }

    /// Partners that have not confirmed, within `within` of its first sending, a manifest of
    /// `own` that revokes a key: until they hold it, they may still accept what the revoked key
    /// signs (FORMAT.md §5.3). Shown by `keys status`, `doctor` and `/healthz`, logged by the daemon.
    public static func unconfirmedRevocations(own: IdentityCard, partners: [ODSCode], ledger: ManifestLedger,
                                              within: Duration, now: UInt64) -> [Warning] {
        partners.compactMap { partner in
            let delivery = ledger.delivery(to: partner)
            guard let pending = delivery.pendingRevocations(of: own) else { return nil }
            // Never sent at all (the partner's mailbox unreachable): counted from the signing.
            let since = pending.since.map { UInt64(max(0, $0 / 1000)) } ?? own.created
            let limit = UInt64(max(0, within.components.seconds))
            guard now >= since, now - since > limit else { return nil }
            let confirmed = delivery.confirmed.map { "it confirmed version \($0)" } ?? "it has confirmed no version"
            let keys = pending.keys.joined(separator: ", ")
            return Warning(key: "unconfirmed-revocation-\(partner.value)-\(own.manifest.version)", days: 0,
                           partner: partner, message:
                "partner \(partner) has not confirmed \(own.org)'s key manifest version \(own.manifest.version), which revokes \(keys), "
                + "for \(Self.elapsed(now - since)) (\(confirmed)): until it does, it may accept what a revoked key signs; "
                + "check that its gateway is running and collecting, or call its security officer")
        }
    }

    /// `seconds` in words: "45 s", "12 minutes", "3 hours".
    static func elapsed(_ seconds: UInt64) -> String {
        seconds < 120 ? "\(seconds) s" : seconds < 7200 ? "\(seconds / 60) minutes" : "\(seconds / 3600) hours"
    }

    /// The threshold (in days) `expires` is within at `now`, or nil when it is further away.
    private static func level(_ expires: UInt64, now: UInt64) -> UInt64? {
        thresholds.first { expires <= now + $0 * 86_400 }
    }
}
