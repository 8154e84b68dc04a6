import GatehouseFormat

/// A moment given by a person, the one way every command takes a time (`audit show --since`,
/// `inbox --since`, `keys revoke --at`): an RFC 3339 UTC time (`2026-11-25T09:30:00Z`), or how
/// long ago, as a duration of `gatehouse.toml` (`90s`, `30m`, `2h`, `7d`, optionally followed by
/// ` ago`).
public enum PointInTime {
    /// What a time looks like, for messages.
    public static let expected =
        "an RFC 3339 UTC time like 2026-11-25T09:30:00Z, or how long ago, like 90s, 30m, 2h or 7d"

    /// Seconds since 1970, or nil when `text` is neither form. A duration longer than the time
    /// since 1970 is 1970.
    public static func parse(_ text: String, now: UInt64 = KeyStore.now()) -> UInt64? {
        if let absolute = RFC3339.parse(text) { return absolute }
        let ago = " ago".utf8
        let body = text.utf8.reversed().starts(with: ago.reversed())
            ? String(decoding: text.utf8.dropLast(ago.count), as: UTF8.self) : text
        guard let duration = GatehouseConfig.parseDuration(body) else { return nil }
        let seconds = UInt64(duration.components.seconds)
        return now >= seconds ? now - seconds : 0
    }
}
