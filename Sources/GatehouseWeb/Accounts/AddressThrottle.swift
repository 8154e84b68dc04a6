/// Failed bearer tokens counted by client address, not by account: a token's secret has 256
/// random bits, so guessing it is hopeless and locking the account would only let anyone who
/// knows its name (printed in logs, the audit trail) shut a clinical system out. An address
/// that keeps sending wrong tokens is slowed instead, with a back-off that doubles, as the
/// account lock-out does for passwords; the account and every other address are unaffected.
struct AddressThrottle: Sendable {
    /// Addresses remembered at most (the oldest failure forgotten first): memory stays bounded
    /// whatever a client sends.
    static let maxAddresses = 10_000
    /// Failures forgotten after this long without another (ms).
    static let forgetAfter: Int64 = 15 * 60_000

    private struct Entry: Sendable {
        var failures = 0, until: Int64 = 0, last: Int64
    }

    private var entries: [String: Entry] = [:]

    /// Until when `address` is refused without its token being checked (ms), if it is now.
    func blockedUntil(_ address: String, now: Int64) -> Int64? {
        guard let entry = entries[address], entry.until > now else { return nil }
        return entry.until
    }

    /// A wrong token from `address` at `now`: after ``AccountService/lockAfter`` of them, the
    /// address waits a minute, doubling with each further one, at most an hour.
    mutating func failed(_ address: String, now: Int64) {
        var entry = entries[address].flatMap { now - $0.last < Self.forgetAfter ? $0 : nil } ?? Entry(last: now)
        entry.failures += 1
        entry.last = now
        if entry.failures >= AccountService.lockAfter {
            let doublings = Int64(min(entry.failures - AccountService.lockAfter, 6))
            entry.until = now + min(60_000 << doublings, 3_600_000)
        }
        if entries[address] == nil && entries.count >= Self.maxAddresses,
           let oldest = entries.min(by: { $0.value.last < $1.value.last })?.key {
            entries[oldest] = nil
        }
        entries[address] = entry
    }

    /// A good token from `address`: its count starts again.
    mutating func succeeded(_ address: String) { entries[address] = nil }
}
