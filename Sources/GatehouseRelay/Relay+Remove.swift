import Glibc
public import GatehouseFormat
public import GatehouseKit

extension Relay {
    /// `removed/`: registrations taken off the relay, one folder each with the card and whatever
    /// the mailbox held.
    public var removedPath: String { path + "/removed" }

    /// The names in `org`'s mailbox (bundles and receipts waiting, unfinished uploads); nil when
    /// it has none.
    public func mailboxContents(_ org: ODSCode) -> [String]? {
        FileOperations.listFolder("\(mailboxesPath)/\(org.value)")
    }

    /// Takes `org` off the relay and returns where its registration went: its mailbox (with
    /// whatever it holds) and then its card move to `removed/ODS-TIME/`, and `authorized_keys` is
    /// written without its key. Its gateway can no longer log in, its open sessions end (each
    /// checks that its own mailbox is still there), and no partner can deliver to it; nothing
    /// that was in the mailbox is lost. `unknownPartner` when `org` is not registered.
    public func remove(_ org: ODSCode, gatehouse: String, now: UInt64) throws(KitError) -> String {
        let card = "\(cardsPath)/\(org.value).card", mailbox = "\(mailboxesPath)/\(org.value)"
        var info = stat()
        let hasCard = lstat(card, &info) == 0, hasMailbox = lstat(mailbox, &info) == 0
        guard hasCard || hasMailbox else {
            throw .unknownPartner("\(org) is not registered on the relay in \(path) (no \(card))", path: card)
        }
        let kept = "\(removedPath)/\(org.value)-\(FileOperations.timeForFileName(now))"
        try FileOperations.makeDirectory(removedPath, mode: 0o700)
        try FileOperations.makeDirectory(kept, mode: 0o700)
        // The mailbox first: once it is gone no session can reach it, and a crash before the
        // card moves leaves a registration that `relay remove` finishes when run again.
        if hasMailbox { try move(mailbox, to: kept + "/mailbox") }
        if hasCard { try move(card, to: "\(kept)/\(org.value).card") }
        try writeAuthorizedKeys(gatehouse: gatehouse)
        return kept
    }

    private func move(_ from: String, to: String) throws(KitError) {
        guard rename(from, to) == 0 else {
            throw .io("could not move \(from) to \(to): \(String(cString: strerror(errno)))", path: from)
        }
        try FileOperations.syncDirectory(of: from)
        try FileOperations.syncDirectory(of: to)
    }
}
