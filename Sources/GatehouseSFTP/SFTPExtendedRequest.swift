/// The OpenSSH extensions Gatehouse uses, inside SSH_FXP_EXTENDED / SSH_FXP_EXTENDED_REPLY
/// (OpenSSH PROTOCOL §4.3, §4.10, §4.8).
public enum SFTPExtendedRequest: Hashable, Sendable {
    /// `posix-rename@openssh.com`: string oldpath, string newpath.
    case posixRename(from: String, to: String)
    /// `fsync@openssh.com`: string handle.
    case fsync(handle: [UInt8])
    /// `limits@openssh.com`: no fields.
    case limits
    /// `mailbox-wait@gatehouse`: string mailbox path, uint32 timeout in milliseconds, and an
    /// optional uint32 flags (absent means none: the request of clients before the flags, byte
    /// for byte). The server answers STATUS OK as soon as the mailbox holds a name its last
    /// listing in this session did not return (at once if there is one already), or, with
    /// ``SFTP/WaitFlags/uploads``, an upload in progress its last `mailbox-uploads@gatehouse`
    /// did not return; STATUS EOF when the timeout passes.
    case mailboxWait(path: String, timeoutMilliseconds: UInt32, flags: SFTP.WaitFlags = [])
    /// `mailbox-uploads@gatehouse`: string mailbox path (the session's own). Answered with
    /// SSH_FXP_EXTENDED_REPLY, ``SFTPMailboxUploads``.
    case mailboxUploads(path: String)
    /// `mailbox-upload-state@gatehouse`: string handle (open for reading on an upload in
    /// progress), then optionally uint64 size and uint32 timeout in milliseconds: answer once the
    /// upload is no longer in progress at that size, or when the timeout passes. Answered with
    /// SSH_FXP_EXTENDED_REPLY, ``SFTPUploadState``.
    case uploadState(handle: [UInt8], whileSize: UInt64? = nil, timeoutMilliseconds: UInt32 = 0)
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
        case .mailboxWait(let path, let timeout, let flags):
            w.text(path); w.u32(timeout)
            // No flags, no field: exactly what a client before the flags sends.
            if !flags.isEmpty { w.u32(flags.rawValue) }
            return .extended(id: id, name: SFTP.Extension.mailboxWait, data: w.bytes)
        case .mailboxUploads(let path):
            w.text(path)
            return .extended(id: id, name: SFTP.Extension.mailboxUploads, data: w.bytes)
        case .uploadState(let handle, let size, let timeout):
            w.string(handle)
            if let size { w.u64(size); w.u32(timeout) }
            return .extended(id: id, name: SFTP.Extension.uploadState, data: w.bytes)
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
        case SFTP.Extension.mailboxWait:
            let path = try r.text("the mailbox path")
            let timeout = try r.u32("the timeout")
            let flags = r.remaining == 0 ? SFTP.WaitFlags() : SFTP.WaitFlags(rawValue: try r.u32("the flags"))
            // A flag this server does not know would be a wait for something it never answers.
            guard flags.isSubset(of: .known) else {
                throw .malformed("unknown flags 0x\(String(flags.rawValue, radix: 16)) in \(name)")
            }
            request = .mailboxWait(path: path, timeoutMilliseconds: timeout, flags: flags)
        case SFTP.Extension.mailboxUploads: request = .mailboxUploads(path: try r.text("the mailbox path"))
        case SFTP.Extension.uploadState:
            let handle = try r.string("the handle")
            if r.remaining == 0 {
                request = .uploadState(handle: handle)
            } else {
                request = .uploadState(handle: handle, whileSize: try r.u64("the size"),
                                       timeoutMilliseconds: try r.u32("the timeout"))
            }
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
