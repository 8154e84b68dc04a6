import GatehouseFormat

/// The engine's state about held bundles (see ``HeldIndex`` and GatewayEngine+Held.swift),
/// grouped so that it can be read and reset in one place.
struct HeldWork: Sendable {
    /// What `spool/held/` holds; nil until first read from the journal.
    var index: HeldIndex?
    /// When a held bundle that could not be opened yet (a key its sender's newly added card
    /// does not name, a disk error) is tried again.
    var retryAt: [BundleID: Int64] = [:]
    /// When each held bundle began to wait for a key its sender's card does not name: after
    /// `[limits] unknown_sender_hold` it is opened without waiting (and refused).
    var keyWaitSince: [BundleID: Int64] = [:]
    /// Final receipts of held bundles that could not be sent yet: the bundle's outcome is
    /// journalled, so only the sending is tried again (while the daemon runs).
    var unsent: [BundleID: UnsentReceipt] = [:]

    /// A final receipt waiting to go out.
    struct UnsentReceipt: Sendable {
        let receipt: [UInt8]
        let sender: ODSCode
        /// Through this organisation's own mailbox server (the sender is not pinned here).
        let viaOwnServer: Bool
    }
}
