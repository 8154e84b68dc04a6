import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Glibc

extension MailboxServer {
    /// The published directory's folder: `directory/` beside the mailboxes folder.
    var directoryFolder: String {
        let parts = root.split(separator: "/", omittingEmptySubsequences: false).dropLast()
        return parts.joined(separator: "/") + "/" + DirectoryAreaPolicy.prefix
    }

    /// The reply to a request on a path in the published directory, or nil when the request names
    /// no such path (it then goes to the mailbox rules).
    func directoryArea(_ request: SFTPMessage) -> SFTPMessage? {
        let (id, text, kind): (UInt32, String, MailboxRequest)
        switch request {
        case .open(let i, let p, let flags, _): (id, text, kind) = (i, p, flags == .read ? .openRead : .openCreate)
        case .stat(let i, let p), .lstat(let i, let p): (id, text, kind) = (i, p, .stat)
        case .realpath(let i, let p): (id, text, kind) = (i, p, .realpath)
        case .opendir(let i, let p): (id, text, kind) = (i, p, .opendir)
        case .remove(let i, let p): (id, text, kind) = (i, p, .remove)
        case .rename(let i, let p, _): (id, text, kind) = (i, p, .rename)
        case .setstat(let i, let p, _): (id, text, kind) = (i, p, .setstat)
        case .mkdir(let i, let p, _): (id, text, kind) = (i, p, .mkdir)
        case .rmdir(let i, let p): (id, text, kind) = (i, p, .rmdir)
        case .readlink(let i, let p): (id, text, kind) = (i, p, .readlink)
        case .symlink(let i, let p, _): (id, text, kind) = (i, p, .symlink)
        default: return nil
        }
        guard DirectoryAreaPolicy.isInArea(text) else { return nil }
        if case .refused(let why) = DirectoryAreaPolicy.decision(kind) { return refuse(id, kind, text, why, .own) }
        // Only the checkpoint and canonical tile names exist: no `..`, no other file, no listing.
        guard let name = DirectoryAreaPolicy.file(text) else {
            return refuse(id, kind, text, "no such file in the published directory", .own)
        }
        let file = directoryFolder + "/" + name
        switch kind {
        case .realpath:
            return .name(id: id, entries: [SFTPName(filename: "/directory/" + name, longname: "/directory/" + name)])
        case .stat:
            var info = Glibc.stat()
            guard lstat(file, &info) == 0 else { return errnoStatus(id, .stat, "stat /directory/\(name)") }
            return .attrs(id: id, attributes: Self.attributes(info))
        default:
            guard handles.count < MailboxLimits.maxOpenHandles else { return tooManyHandles(id) }
            let fd = Glibc.open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { return errnoStatus(id, .openRead, "open /directory/\(name)") }
            var info = Glibc.stat()
            guard Glibc.fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                Glibc.close(fd)
                return status(id, .failure, "/directory/\(name) is not a regular file")
            }
            return newHandle(.published(fd: fd, name: name), id)
        }
    }
}
