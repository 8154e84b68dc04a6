import GatehouseFormat

/// The quotas of every mailbox on a relay: what the mailbox may hold in all, and what each
/// sender may keep in it (its share). A sender's files are those carrying its uploader tag
/// (``UploaderTag``), unfinished uploads included; they count until the mailbox's owner
/// collects them. The share is what keeps one organisation from filling another's mailbox:
/// junk from one sender stops at its share, and every other sender can still deliver.
public struct MailboxQuotas: Sendable, Equatable {
    /// Most bytes one mailbox may hold, all senders together.
    public var mailboxBytes: UInt64
    /// Most files one mailbox may hold, all senders together.
    public var mailboxFiles: Int
    /// Most bytes one sender may keep in one mailbox.
    public var senderBytes: UInt64
    /// Most files one sender may keep in one mailbox.
    public var senderFiles: Int

    /// Default quotas: 10 GiB and 100,000 files a mailbox, 2 GiB and 10,000 files a sender (a
    /// 1 GiB export still fits in one sender's share).
    public init(
        mailboxBytes: UInt64 = 10 << 30, mailboxFiles: Int = 100_000, senderBytes: UInt64 = 2 << 30,
        senderFiles: Int = 10_000
    ) {
        self.mailboxBytes = mailboxBytes
        self.mailboxFiles = mailboxFiles
        self.senderBytes = senderBytes
        self.senderFiles = senderFiles
    }

    /// Bytes a session writes into one mailbox between two counts on disk: at most
    /// ``MailboxLimits/quotaRecheckBytes``, and a sixteenth of a small share, so that concurrent
    /// sessions pass a share by a small part of it at most.
    public var recheckBytes: UInt64 { max(1, min(MailboxLimits.quotaRecheckBytes, senderBytes / 16)) }

    /// Why `sender` may not create one more file in `mailbox` holding `usage`, or nil.
    func refusalToCreate(_ usage: MailboxUsage, sender: ODSCode, mailbox: ODSCode) -> String? {
        if usage.senderFiles >= senderFiles {
            return "\(sender)'s share of \(mailbox)'s mailbox is used up: \(sender) keeps \(usage.senderFiles) "
                + "files there, the quota is \(senderFiles) files a sender, 0 left until \(mailbox) collects them"
        }
        if usage.files >= mailboxFiles {
            return "\(mailbox)'s mailbox is full: it holds its quota of \(mailboxFiles) files, all senders together"
        }
        return budget(usage, sender: sender, mailbox: mailbox).refusal(writing: 1)
    }

    /// What a session of `sender` may still write into `mailbox` holding `usage`.
    func budget(_ usage: MailboxUsage, sender: ODSCode, mailbox: ODSCode) -> UploadBudget {
        let share = senderBytes > usage.senderBytes ? senderBytes - usage.senderBytes : 0
        let room = mailboxBytes > usage.bytes ? mailboxBytes - usage.bytes : 0
        return UploadBudget(
            left: min(share, room), limitedBy: share <= room ? .share : .mailbox,
            sender: sender, mailbox: mailbox, quotas: self)
    }
}

/// What one session may still write into one mailbox, drawn from by every write of every
/// handle it holds there, at the write's high-water mark.
struct UploadBudget {
    /// Which quota binds.
    enum Limit { case share, mailbox }

    /// Bytes left.
    var left: UInt64
    /// The quota that leaves the fewest bytes.
    let limitedBy: Limit
    let sender: ODSCode, mailbox: ODSCode, quotas: MailboxQuotas
    /// Bytes drawn since the last count on disk.
    var drawnSinceCount: UInt64 = 0

    /// True when drawing `bytes` must wait for a new count on disk: the budget would not cover
    /// them, or the session has written its recount interval since the last count.
    func needsCount(before bytes: UInt64) -> Bool {
        bytes > left || drawnSinceCount + bytes > quotas.recheckBytes
    }

    /// Takes `bytes`, or says which quota refuses them and how much it leaves.
    mutating func draw(_ bytes: UInt64) -> String? {
        if let refusal = refusal(writing: bytes) { return refusal }
        left -= bytes
        drawnSinceCount += bytes
        return nil
    }

    /// Why writing `bytes` more is refused, or nil.
    func refusal(writing bytes: UInt64) -> String? {
        guard bytes > left else { return nil }
        switch limitedBy {
        case .share:
            return "\(sender)'s share of \(mailbox)'s mailbox is used up: the quota is \(quotas.senderBytes) bytes "
                + "a sender, \(left) left, \(bytes) more asked for"
        case .mailbox:
            // How much is left of the whole mailbox is not said: it would tell one sender how
            // much the others have delivered.
            return "\(mailbox)'s mailbox is full: its quota of \(quotas.mailboxBytes) bytes, all senders together, "
                + "leaves no room for \(bytes) more bytes"
        }
    }
}

/// What one mailbox holds on disk, in all and from one sender.
struct MailboxUsage: Equatable {
    var bytes: UInt64 = 0, files = 0
    var senderBytes: UInt64 = 0, senderFiles = 0
}
