/// What a gateway accepts from its partners (`[limits]` in gatehouse.toml), checked against the
/// sizes a bundle declares and the free space of the spool before anything is written, so that a
/// small bundle declaring huge files (a size bomb) or a bundle the gateway can never use costs a
/// refusal, not a full disk or a download every round.
public struct ReceiveLimits: Sendable, Equatable {
    /// The largest bundle file collected from the mailbox.
    public var bundleMaxBytes: Int64 = 2 << 30
    /// The most a bundle's files may add up to, as its signed file table declares them.
    public var unpackedMaxBytes: Int64 = 4 << 30
    /// The most files one bundle may hold.
    public var filesMax = 4096
    /// Space that must stay free in the spool after a bundle's files are written.
    public var freeSpaceReserve: Int64 = 256 << 20
    /// How far a bundle's creation time may be ahead of this gateway's clock (beyond it the
    /// bundle is moved out of the mailbox into quarantine) and, added to the delivery expiry,
    /// how far behind.
    public var clockTolerance: Duration = .seconds(3600)
    /// How long an item whose signer this gateway does not know (an unknown key id, an
    /// organisation not pinned) is left in the mailbox waiting for a newer key manifest before it
    /// is moved into quarantine.
    public var unknownSenderHold: Duration = .seconds(3600)
    /// Refused items kept in quarantine per group (a proven sender, or everything unverified);
    /// beyond it the oldest of the group go (the reason is still logged and audited).
    public var quarantinePerSender = 1000
    /// The most the quarantine keeps in all; beyond it the oldest items go, so a flood of refused
    /// mail cannot fill the disk.
    public var quarantineMaxBytes: Int64 = 1 << 30
    /// How long a bundle from an organisation not pinned here is held unopened in
    /// `spool/held/` for its card to be added; then it is refused as expired (a bundle older
    /// than the delivery expiry plus the clock tolerance is refused sooner: its sender gave up).
    public var heldExpire: Duration = .seconds(24 * 3600)
    /// Bundles held per claimed sender; beyond it (or ``heldMaxBytes``) a new one is refused
    /// (unknown-sender) instead: what is held already is never pushed out by a flood.
    public var heldPerSender = 100
    /// The most `spool/held/` keeps in all.
    public var heldMaxBytes: Int64 = 2 << 30
    /// The most bundles `spool/held/` keeps, whatever their senders and sizes: claimed sender
    /// codes cost a forger nothing, so the per-sender bound alone would not bound the count.
    public static let heldMaxItems = 10_000

    /// The defaults.
    public init() {}
}
