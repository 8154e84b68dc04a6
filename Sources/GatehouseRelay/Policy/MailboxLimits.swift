import GatehouseSFTP

/// The mailbox server's fixed limits, named once.
public enum MailboxLimits {
    /// Most handles (files and folders together) one session may hold open. OpenSSH's client
    /// keeps far fewer; `limits@openssh.com` reports this number.
    public static let maxOpenHandles = 64

    /// Longest READ answered and WRITE accepted: the largest packet (SFTP.maxPacketLength, as
    /// OpenSSH's sftp-server) less room for the packet's own fields.
    public static let maxReadLength = SFTP.maxPacketLength - 1024

    /// Names in one READDIR reply, as OpenSSH's sftp-server (which sends at most 100).
    public static let readdirPage = 100

    /// Most uploads in progress one `mailbox-uploads@gatehouse` reply lists (in the order of
    /// their names' bytes): with names of at most 255 bytes the reply fits in one packet.
    public static let maxUploadsListed = 500

    /// How long an upload must have been in progress (by its birth time) before it wakes a
    /// `mailbox-wait@gatehouse` with the `uploads` flag: most small uploads are published
    /// sooner and wake it as mail. Following a large one starts this much later, about 1% of
    /// the time a 1 GiB upload takes here.
    public static let followAfterMilliseconds: UInt32 = 100

    /// Longest `mailbox-wait@gatehouse` wait; the client asks again after.
    public static let maxWaitMilliseconds: UInt32 = 60_000

    /// Most bytes a session writes into one mailbox between two counts of what its organisation
    /// holds there on disk (less for small sender quotas: ``MailboxQuotas/recheckBytes``).
    /// Concurrent sessions of one organisation can pass its share by at most that much each,
    /// beyond the first.
    public static let quotaRecheckBytes: UInt64 = 4 << 20

    /// Lines one session writes to the refusal log in one second; the rest are counted and
    /// reported as one line.
    public static let refusalLinesPerSecond = 10
}
