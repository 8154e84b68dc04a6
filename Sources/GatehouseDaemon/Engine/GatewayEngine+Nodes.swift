import GatehouseJournal

extension GatewayEngine {
    /// True when this node may claim from the outbox and collect the own mailbox now: always with
    /// the SQLite journal; with a shared journal, while it holds the organisation's spool lease.
    /// On gaining the lease it first finishes the claims a previous holder journalled but did not
    /// move out of the outbox, so that no file is claimed into a second bundle.
    public func holdsSpoolLease() -> Bool {
        let holds: Bool
        do { holds = try journal.holdsSpoolLease() } catch {
            log(.error, "checking the spool lease failed: \(error)")
            holds = false
        }
        if holds && !spoolLeaseHeld {
            do { try finishInterruptedClaims() } catch {
                log(.error, "finishing interrupted claims failed: \(error)")
                return false
            }
        }
        spoolLeaseHeld = holds
        return holds
    }
}
