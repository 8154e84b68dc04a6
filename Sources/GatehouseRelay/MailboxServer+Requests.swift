import Glibc
import CSystemShims
import GatehouseFormat
import GatehouseKit
import GatehouseSFTP

extension MailboxServer {
    /// The reply to one request.
    func handle(_ request: SFTPMessage) -> SFTPMessage {
        switch request {
        case .initialise:
            return .version(SFTP.version, extensions: [SFTP.Extension.posixRename, SFTP.Extension.fsync, SFTP.Extension.limits,
                                                       SFTP.Extension.mailboxWait]
                .map { SFTPExtensionPair(name: $0, data: Array("1".utf8)) })
        case .realpath(let id, let path):
            // The client's view: the server folder is "/"; every other path resolves to itself.
            let resolved = path == "." || path == "/" || path.isEmpty ? "/" : MailboxPath(path)?.description
            guard let resolved else { return status(id, .noSuchFile, "no such path \(path.debugDescription)") }
            return .name(id: id, entries: [SFTPName(filename: resolved, longname: resolved)])
        case .opendir(let id, let path): return opendir(id, path)
        case .readdir(let id, let handle): return readdir(id, handle)
        case .stat(let id, let path), .lstat(let id, let path): return stat(id, path)
        case .open(let id, let path, let flags, _): return open(id, path, flags)
        case .read(let id, let handle, let offset, let length): return read(id, handle, offset, length)
        case .write(let id, let handle, let offset, let data): return write(id, handle, offset, data)
        case .fstat(let id, let handle): return fstat(id, handle)
        case .close(let id, let handle): return close(id, handle)
        case .remove(let id, let path): return remove(id, path)
        case .extended(let id, let name, let data):
            do {
                switch try SFTPExtendedRequest.decode(name: name, data: data) {
                case .posixRename(let from, let to): return publish(id, from, to)
                case .fsync(let handle): return fsync(id, handle)
                case .limits:
                    let limits = SFTPLimits(maxPacketLength: UInt64(SFTP.maxPacketLength), maxReadLength: UInt64(SFTP.maxPacketLength - 1024),
                                            maxWriteLength: UInt64(SFTP.maxPacketLength - 1024), maxOpenHandles: 64)
                    return .extendedReply(id: id, data: limits.encoded())
                case .mailboxWait: return status(id, .badMessage, "\(name): handled by the session loop")
                case .other(let name): return status(id, .opUnsupported, "extension \(name) is not supported")
                }
            } catch {
                return status(id, .badMessage, "\(name): \(error)")
            }
        case .rename(let id, _, _):
            return refuse(id, "plain RENAME is refused: publish with posix-rename@openssh.com, which never overwrites here")
        case .setstat(let id, _, _), .fsetstat(let id, _, _), .mkdir(let id, _, _), .rmdir(let id, _),
             .readlink(let id, _), .symlink(let id, _, _):
            let name = String(describing: request).prefix { $0 != "(" }.uppercased()
            return refuse(id, "SSH_FXP_\(name) is not allowed on a mailbox server")
        case .unknown(let type, let id):
            return status(id ?? 0, .opUnsupported, "packet type \(type) is not supported")
        case .version, .status, .handle, .data, .name, .attrs, .extendedReply:
            return status(request.id ?? 0, .badMessage, "a server reply sent as a request")
        }
    }

    // MARK: Listing and reading: own mailbox only

    func opendir(_ id: UInt32, _ text: String) -> SFTPMessage {
        guard let path = MailboxPath(text), path.name == nil else { return refuse(id, "only a mailbox folder can be listed") }
        guard path.org == org else { return refuse(id, "\(org) may list only its own mailbox, not \(path.org)'s") }
        guard let names = FileOperations.listFolder(folder(org)) else { return errnoStatus(id, "listing \(path)") }
        // Transfers in progress (dot-names) are never shown.
        let listed = names.filter { !$0.hasPrefix(".") }.sorted()
        lastListing = Set(listed)
        return newHandle(id, .directory(names: listed, offset: 0))
    }

    func readdir(_ id: UInt32, _ handle: [UInt8]) -> SFTPMessage {
        guard let key = handleKey(handle), case .directory(let names, let offset)? = handles[key] else {
            return status(id, .failure, "not an open folder handle")
        }
        guard offset < names.count else { return status(id, .eof) }
        // At most 100 names a reply, as OpenSSH's sftp-server does.
        let page = names[offset..<min(offset + 100, names.count)]
        handles[key] = .directory(names: names, offset: offset + page.count)
        return .name(id: id, entries: page.map { name in
            var info = Glibc.stat()
            let attributes = lstat("\(folder(org))/\(name)", &info) == 0 ? Self.attributes(info) : SFTPAttributes()
            return SFTPName(filename: name, longname: name, attributes: attributes)
        })
    }

    func stat(_ id: UInt32, _ text: String) -> SFTPMessage {
        guard let path = MailboxPath(text) else { return status(id, .noSuchFile, "no such path \(text.debugDescription)") }
        guard path.org == org || created.contains(path) else {
            return refuse(id, "\(org) may not look into \(path.org)'s mailbox")
        }
        var info = Glibc.stat()
        guard lstat(path.name == nil ? folder(path.org) : filePath(path), &info) == 0 else { return errnoStatus(id, "stat \(path)") }
        return .attrs(id: id, attributes: Self.attributes(info))
    }

    func open(_ id: UInt32, _ text: String, _ flags: SFTP.OpenFlags) -> SFTPMessage {
        guard let path = MailboxPath(text), path.name != nil else { return refuse(id, "\(text.debugDescription) is not a file in a mailbox") }
        if flags == .read {
            guard path.org == org else { return refuse(id, "\(org) may not read \(path.org)'s mail") }
            let fd = Glibc.open(filePath(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return errnoStatus(id, "open \(path)") }
            return newHandle(id, .file(fd: fd, path: path, writeLimit: nil))
        }
        // Writing: only a new temporary file, in a registered organisation's mailbox.
        // The file is always created with O_EXCL below, so TRUNC (which OpenSSH's own client sends)
        // can never overwrite anything; reading and appending are refused.
        guard flags.contains(.write), flags.contains(.create), !flags.contains(.append), !flags.contains(.read) else {
            return refuse(id, "files may only be created new, never opened for overwriting, appending or reading back")
        }
        guard path.isTemporary else { return refuse(id, "upload under a temporary dot-name, then publish with posix-rename@openssh.com") }
        guard isRegistered(path.org) else { return refuse(id, "\(path.org) is not registered on this mailbox server") }
        guard let room = quotaRoom(path.org) else { return status(id, .failure, "\(path.org)'s mailbox is over its quota") }
        let fd = Glibc.open(filePath(path), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return errnoStatus(id, "create \(path)") }
        created.insert(path)
        log("\(org) creates \(path)")
        return newHandle(id, .file(fd: fd, path: path, writeLimit: room))
    }

    /// The bytes a new upload to `mailbox` may write, or nil when the mailbox is at its file or
    /// byte quota. Unfinished uploads count too.
    func quotaRoom(_ mailbox: ODSCode) -> UInt64? {
        let names = FileOperations.listFolder(folder(mailbox)) ?? []
        guard names.count < quotaFiles else { return nil }
        var total: UInt64 = 0
        for name in names {
            var info = Glibc.stat()
            if lstat("\(folder(mailbox))/\(name)", &info) == 0 { total += UInt64(info.st_size) }
        }
        return total < quotaBytes ? quotaBytes - total : nil
    }
}
