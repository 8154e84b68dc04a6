/// One entry of an SSH_FXP_NAME reply.
public struct SFTPName: Hashable, Sendable {
    /// The file name.
    public var filename: String
    /// The `ls -l`-style line (informational).
    public var longname: String
    /// Its attributes.
    public var attributes: SFTPAttributes

    /// An entry.
    public init(filename: String, longname: String = "", attributes: SFTPAttributes = SFTPAttributes()) {
        self.filename = filename
        self.longname = longname
        self.attributes = attributes
    }
}

/// Every SFTP v3 message (draft-ietf-secsh-filexfer-02 §3–§8, OpenSSH PROTOCOL §4).
public enum SFTPMessage: Hashable, Sendable {
    case initialise(version: UInt32, extensions: [SFTPExtensionPair])
    case version(UInt32, extensions: [SFTPExtensionPair])
    case open(id: UInt32, path: String, flags: SFTP.OpenFlags, attributes: SFTPAttributes)
    case close(id: UInt32, handle: [UInt8])
    case read(id: UInt32, handle: [UInt8], offset: UInt64, length: UInt32)
    case write(id: UInt32, handle: [UInt8], offset: UInt64, data: [UInt8])
    case lstat(id: UInt32, path: String)
    case fstat(id: UInt32, handle: [UInt8])
    case setstat(id: UInt32, path: String, attributes: SFTPAttributes)
    case fsetstat(id: UInt32, handle: [UInt8], attributes: SFTPAttributes)
    case opendir(id: UInt32, path: String)
    case readdir(id: UInt32, handle: [UInt8])
    case remove(id: UInt32, path: String)
    case mkdir(id: UInt32, path: String, attributes: SFTPAttributes)
    case rmdir(id: UInt32, path: String)
    case realpath(id: UInt32, path: String)
    case stat(id: UInt32, path: String)
    case rename(id: UInt32, from: String, to: String)
    case readlink(id: UInt32, path: String)
    case symlink(id: UInt32, linkPath: String, targetPath: String)
    case status(id: UInt32, code: UInt32, message: String, language: String)
    case handle(id: UInt32, handle: [UInt8])
    case data(id: UInt32, data: [UInt8])
    case name(id: UInt32, entries: [SFTPName])
    case attrs(id: UInt32, attributes: SFTPAttributes)
    /// SSH_FXP_EXTENDED: the extension's own fields are in `data` (see ``SFTPExtendedRequest``).
    case extended(id: UInt32, name: String, data: [UInt8])
    case extendedReply(id: UInt32, data: [UInt8])
    /// A packet type this codec does not know; a server answers it with SSH_FX_OP_UNSUPPORTED.
    case unknown(type: UInt8, id: UInt32?)

    /// The request id, for every message that has one.
    public var id: UInt32? {
        switch self {
        case .initialise, .version: nil
        case .open(let id, _, _, _), .close(let id, _), .read(let id, _, _, _), .write(let id, _, _, _),
             .lstat(let id, _), .fstat(let id, _), .setstat(let id, _, _), .fsetstat(let id, _, _),
             .opendir(let id, _), .readdir(let id, _), .remove(let id, _), .mkdir(let id, _, _), .rmdir(let id, _),
             .realpath(let id, _), .stat(let id, _), .rename(let id, _, _), .readlink(let id, _), .symlink(let id, _, _),
             .status(let id, _, _, _), .handle(let id, _), .data(let id, _), .name(let id, _), .attrs(let id, _),
             .extended(let id, _, _), .extendedReply(let id, _): id
        case .unknown(_, let id): id
        }
    }
}

/// An extension name and its data, as INIT and VERSION carry them.
public struct SFTPExtensionPair: Hashable, Sendable {
    /// The extension's name, e.g. `posix-rename@openssh.com`.
    public var name: String
    /// Its data (OpenSSH sends a version number as text, e.g. "1").
    public var data: [UInt8]

    /// A pair.
    public init(name: String, data: [UInt8]) {
        self.name = name
        self.data = data
    }
}
