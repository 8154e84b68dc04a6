/// Constants of SFTP version 3 (draft-ietf-secsh-filexfer-02) as OpenSSH implements it.
public enum SFTP {
    /// The protocol version this codec speaks. OpenSSH implements exactly version 3.
    public static let version: UInt32 = 3

    /// The largest packet accepted, length field excluded. OpenSSH's sftp-server uses
    /// `SFTP_MAX_MSG_LENGTH` = 256 KiB and reports it through `limits@openssh.com`.
    public static let maxPacketLength = 256 * 1024

    /// draft-02 §3: packet types.
    public enum PacketType: UInt8, Sendable, CaseIterable {
        case initialise = 1, version = 2, open = 3, close = 4, read = 5, write = 6, lstat = 7, fstat = 8
        case setstat = 9, fsetstat = 10, opendir = 11, readdir = 12, remove = 13, mkdir = 14, rmdir = 15
        case realpath = 16, stat = 17, rename = 18, readlink = 19, symlink = 20
        case status = 101, handle = 102, data = 103, name = 104, attrs = 105
        case extended = 200, extendedReply = 201
    }

    /// draft-02 §7: status codes.
    public enum StatusCode: UInt32, Sendable, CaseIterable {
        case ok = 0, eof = 1, noSuchFile = 2, permissionDenied = 3, failure = 4, badMessage = 5
        case noConnection = 6, connectionLost = 7, opUnsupported = 8
    }

    /// draft-02 §6.3: `pflags` of SSH_FXP_OPEN.
    public struct OpenFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let read = OpenFlags(rawValue: 0x01)
        public static let write = OpenFlags(rawValue: 0x02)
        public static let append = OpenFlags(rawValue: 0x04)
        public static let create = OpenFlags(rawValue: 0x08)
        public static let truncate = OpenFlags(rawValue: 0x10)
        public static let exclusive = OpenFlags(rawValue: 0x20)
    }

    /// OpenSSH extension names (PROTOCOL, §4).
    public enum Extension {
        /// Rename that replaces the target atomically, POSIX rename(2) semantics.
        public static let posixRename = "posix-rename@openssh.com"
        /// fsync(2) of an open handle.
        public static let fsync = "fsync@openssh.com"
        /// The server's packet, read and write limits.
        public static let limits = "limits@openssh.com"
        /// Gatehouse's own: wait until new mail is in the caller's mailbox (README.md, "Low latency").
        public static let mailboxWait = "mailbox-wait@gatehouse"
        /// Gatehouse's own: the uploads in progress in the caller's mailbox.
        public static let mailboxUploads = "mailbox-uploads@gatehouse"
        /// Gatehouse's own: whether an upload in progress, open for reading, was published.
        public static let uploadState = "mailbox-upload-state@gatehouse"
    }

    /// The flags of `mailbox-wait@gatehouse`.
    public struct WaitFlags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Bit 0: also answer when the own mailbox holds an upload in progress (a tagged dot-name)
        /// that `mailbox-uploads@gatehouse` has not yet returned in this session.
        public static let uploads = WaitFlags(rawValue: 0x1)
        /// Every flag defined.
        public static let known: WaitFlags = [.uploads]
    }
}
