/// The OpenSSH extensions Gatehouse uses, inside SSH_FXP_EXTENDED / SSH_FXP_EXTENDED_REPLY
/// (OpenSSH PROTOCOL §4.3, §4.10, §4.8).
public enum SFTPExtendedRequest: Hashable, Sendable {
    /// `posix-rename@openssh.com`: string oldpath, string newpath.
    case posixRename(from: String, to: String)
    /// `fsync@openssh.com`: string handle.
    case fsync(handle: [UInt8])
    /// `limits@openssh.com`: no fields.
    case limits
    /// `mailbox-wait@gatehouse`: string mailbox path, uint32 timeout in milliseconds. The server
    /// answers STATUS OK as soon as the mailbox holds a name its last listing in this session did
    /// not return (at once if there is one already), or STATUS EOF when the timeout passes.
    case mailboxWait(path: String, timeoutMilliseconds: UInt32)
    /// Anything else.
    case other(name: String)

    /// The SSH_FXP_EXTENDED message for this request.
    public func message(id: UInt32) -> SFTPMessage {
        var w = SFTPWriter()
        switch self {
        case .posixRename(let from, let to):
            w.text(from); w.text(to)
            return .extended(id: id, name: SFTP.Extension.posixRename, data: w.bytes)
        case .fsync(let handle):
            w.string(handle)
            return .extended(id: id, name: SFTP.Extension.fsync, data: w.bytes)
        case .limits: return .extended(id: id, name: SFTP.Extension.limits, data: [])
        case .mailboxWait(let path, let timeout):
            w.text(path); w.u32(timeout)
            return .extended(id: id, name: SFTP.Extension.mailboxWait, data: w.bytes)
        case .other(let name): return .extended(id: id, name: name, data: [])
        }
    }

    /// Decodes the fields of an extended request named `name`.
    public static func decode(name: String, data: [UInt8]) throws(SFTPError) -> SFTPExtendedRequest {
        var r = SFTPReader(data[...])
        let request: SFTPExtendedRequest
        switch name {
        case SFTP.Extension.posixRename: request = .posixRename(from: try r.text("the old path"), to: try r.text("the new path"))
        case SFTP.Extension.fsync: request = .fsync(handle: try r.string("the handle"))
        case SFTP.Extension.limits: request = .limits
        case SFTP.Extension.mailboxWait: request = .mailboxWait(path: try r.text("the mailbox path"), timeoutMilliseconds: try r.u32("the timeout"))
        default: return .other(name: name)
        }
        try r.finish(name)
        return request
    }
}

/// The reply to `limits@openssh.com`: four uint64 values.
public struct SFTPLimits: Hashable, Sendable {
    /// Largest packet, in bytes.
    public var maxPacketLength: UInt64
    /// Largest READ length.
    public var maxReadLength: UInt64
    /// Largest WRITE length.
    public var maxWriteLength: UInt64
    /// Most open handles (0: no limit).
    public var maxOpenHandles: UInt64

    /// Limits.
    public init(maxPacketLength: UInt64, maxReadLength: UInt64, maxWriteLength: UInt64, maxOpenHandles: UInt64) {
        self.maxPacketLength = maxPacketLength
        self.maxReadLength = maxReadLength
        self.maxWriteLength = maxWriteLength
        self.maxOpenHandles = maxOpenHandles
    }

    /// The SSH_FXP_EXTENDED_REPLY data.
    public func encoded() -> [UInt8] {
        var w = SFTPWriter()
        for v in [maxPacketLength, maxReadLength, maxWriteLength, maxOpenHandles] { w.u64(v) }
        return w.bytes
    }

    /// Decodes SSH_FXP_EXTENDED_REPLY data.
    public static func decode(_ data: [UInt8]) throws(SFTPError) -> SFTPLimits {
        var r = SFTPReader(data[...])
        let limits = SFTPLimits(maxPacketLength: try r.u64("max-packet-length"), maxReadLength: try r.u64("max-read-length"),
                                maxWriteLength: try r.u64("max-write-length"), maxOpenHandles: try r.u64("max-open-handles"))
        try r.finish("the limits reply")
        return limits
    }
}
