import GatehouseJournal

extension GatewayEngine {
    /// True when this node does the organisation's once-only upkeep (expiry, key upkeep): always
    /// with the SQLite journal; with a shared journal, while it held the spool lease at the last
    /// check (``holdsSpoolLease()``, made by the outbox watcher and the collector).
    public var holdsSpoolLeaseNow: Bool { !journal.isShared || spoolLease.held }

    /// True when this node may claim from the outbox and collect the own mailbox now: always with
    /// the SQLite journal; with a shared journal, while it holds the organisation's spool lease.
    ///
    /// On gaining the lease it first does what ``recover()`` does at the start of a single
    /// gateway, for the previous holder (dead, or cut off past its lease): finishes the claims
    /// it journalled but did not move out of the outbox, so that no file is claimed into a
    /// second bundle, removes its half-collected copies in `work/in`, and reads the held bundles
    /// afresh from the journal. (Sealing temporary
    /// files in `work/out` may belong to any live node and stay.)
    public func holdsSpoolLease() -> Bool {
        let holds: Bool
        do {
            holds = try journal.holdsSpoolLease()
            spoolLease.failure = nil
        } catch {
            let text = "\(error)"
            if text != spoolLease.failure { log(.error, "checking the spool lease failed: \(text)") }
            spoolLease.failure = text
            holds = false
        }
        // (A single gateway did all this in recover() at start, before any collection began.)
        if holds && !spoolLease.held && journal.isShared {
            do { try finishInterruptedClaims() } catch {
                log(.error, "finishing interrupted claims failed: \(error)")
                return false
            }
            FailedFolder.recover(in: spool.failed)
            for name in list(spool.work + "/in") { removeTree("\(spool.work)/in/\(name)") }
            // Bundles the previous holder held are in the journal, not in this node's index.
            held.index = nil
            log(.info, "holding the spool lease: claiming and collecting here")
        }
        spoolLease.held = holds
        return holds
    }
}
