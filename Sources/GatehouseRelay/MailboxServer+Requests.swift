import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Glibc

extension MailboxServer {
    /// The reply to one request (after INIT): each is looked up in ``MailboxPolicy`` first.
    func handle(_ request: SFTPMessage) -> SFTPMessage {
        // The published directory has its own rules: read-only for every registered organisation.
        if let reply = directoryArea(request) { return reply }
        switch request {
        case .initialise:
            return .version(
                SFTP.version,
                extensions: [
                    SFTP.Extension.posixRename, SFTP.Extension.fsync, SFTP.Extension.limits,
                ]
                .map { SFTPExtensionPair(name: $0, data: Array("1".utf8)) }
                // Version 2 of the wait takes flags; a client checks it before sending any.
                + [SFTPExtensionPair(name: SFTP.Extension.mailboxWait, data: Array("2".utf8))]
                + [SFTP.Extension.mailboxUploads, SFTP.Extension.uploadState].map {
                    SFTPExtensionPair(name: $0, data: Array("1".utf8))
                })
        case .realpath(let id, let path):
            // The client's view: the server folder is "/"; every other path resolves to itself.
            // Only the text is looked at, never the disk.
            if path == "." || path == "/" || path.isEmpty {
                return .name(id: id, entries: [SFTPName(filename: "/", longname: "/")])
            }
            return permitted(.realpath, id, path) { resolved, _ in
                .name(id: id, entries: [SFTPName(filename: resolved.description, longname: resolved.description)])
            }
        case .opendir(let id, let path): return permitted(.opendir, id, path) { path, _ in opendir(id, path) }
        case .stat(let id, let path), .lstat(let id, let path): return permitted(.stat, id, path) { stat(id, $0, $1) }
        case .remove(let id, let path): return permitted(.remove, id, path) { remove(id, $0, $1) }
        case .open(let id, let path, let flags, _):
            return permitted(flags == .read ? .openRead : .openCreate, id, path) {
                flags == .read ? openRead(id, $0, $1) : create(id, $0, flags, $1)
            }
        case .readdir(let id, let handle): return onHandle(.readdir, id, handle) { readdir(id, $0) }
        case .read(let id, let handle, let offset, let length):
            return onHandle(.read, id, handle) { read(id, $0, offset, length) }
        case .write(let id, let handle, let offset, let data):
            return onHandle(.write, id, handle) { write(id, $0, offset, data) }
        case .fstat(let id, let handle): return onHandle(.fstat, id, handle) { fstat(id, $0) }
        case .close(let id, let handle): return onHandle(.close, id, handle) { close(id, $0) }
        case .extended(let id, let name, let data):
            let decoded: SFTPExtendedRequest
            do { decoded = try SFTPExtendedRequest.decode(name: name, data: data) } catch {
                return status(id, .badMessage, "\(name): \(error)")
            }
            switch decoded {
            case .posixRename(let from, let to): return permitted(.publish, id, from) { path, _ in publish(id, path, to) }
            case .fsync(let handle): return onHandle(.fsync, id, handle) { fsync(id, $0) }
            case .limits:
                // Path-less: the own mailbox's column holds its rule.
                if case .refused(let why) = MailboxPolicy.decision(.limits, in: .own) {
                    return refuse(id, .limits, "", why, .own)
                }
                let most = UInt64(MailboxLimits.maxReadLength)
                return .extendedReply(
                    id: id,
                    data: SFTPLimits(
                        maxPacketLength: UInt64(SFTP.maxPacketLength), maxReadLength: most,
                        maxWriteLength: most, maxOpenHandles: UInt64(MailboxLimits.maxOpenHandles)
                    ).encoded())
            case .mailboxUploads(let text):
                return permitted(.mailboxUploads, id, text) { path, _ in listUploads(id, path) }
            case .mailboxWait, .uploadState: return status(id, .badMessage, "\(name): handled by the session loop")
            case .other(let name): return status(id, .opUnsupported, "extension \(name) is not supported")
            }
        case .rename(let id, let from, _): return unserved(.rename, id, from)
        case .setstat(let id, let path, _): return unserved(.setstat, id, path)
        case .mkdir(let id, let path, _): return unserved(.mkdir, id, path)
        case .rmdir(let id, let path): return unserved(.rmdir, id, path)
        case .readlink(let id, let path): return unserved(.readlink, id, path)
        case .symlink(let id, let path, _): return unserved(.symlink, id, path)
        case .fsetstat(let id, let handle, _):
            return onHandle(.fsetstat, id, handle) { _ in status(id, .opUnsupported, "fsetstat is not served here") }
        case .unknown(let type, let id):
            return status(id ?? 0, .opUnsupported, "packet type \(type) is not supported")
        case .version, .status, .handle, .data, .name, .attrs, .extendedReply:
            return status(request.id ?? 0, .badMessage, "a server reply sent as a request")
        }
    }

    /// Where `path` lies for this session.
    func scope(of path: MailboxPath) -> MailboxScope {
        if path.org == org {
            // A dot-name this session did not create is a transfer in progress of another
            // session (or a name not yet made): its sender's, whatever is on disk.
            return path.isTemporary && !created.contains(path) ? .arriving : .own
        }
        return created.contains(path) ? .upload : .other
    }

    /// Runs `body` if the policy allows `request` on `text` (a mailbox path) in its scope.
    func permitted(
        _ request: MailboxRequest, _ id: UInt32, _ text: String,
        _ body: (MailboxPath, MailboxScope) -> SFTPMessage
    ) -> SFTPMessage {
        // A path that names nothing a client may touch exists for no one: the same answer
        // whatever is on disk.
        guard let path = MailboxPath(text) else {
            return refuse(id, request, text, "no such path on a mailbox server", .own)
        }
        let scope = scope(of: path)
        guard case .refused(let why) = MailboxPolicy.decision(request, in: scope) else { return body(path, scope) }
        return refuse(id, request, text, why, scope)
    }

    /// A request no handler serves (the table refuses it everywhere): whatever the table says,
    /// nothing is done.
    func unserved(_ request: MailboxRequest, _ id: UInt32, _ text: String) -> SFTPMessage {
        permitted(request, id, text) { _, _ in status(id, .opUnsupported, "\(request.rawValue) is not served here") }
    }

    /// A refusal: a line in the refusal log with the real reason, and a PERMISSION_DENIED
    /// status that, in another organisation's mailbox, is always the same.
    func refuse(
        _ id: UInt32, _ request: MailboxRequest, _ path: String, _ why: String, _ scope: MailboxScope
    ) -> SFTPMessage {
        let answer = scope == .other ? MailboxPolicy.otherMailboxRefusal : why
        log.refused(request.rawValue, path, reason: why, answered: answer)
        return .status(id: id, code: SFTP.StatusCode.permissionDenied.rawValue, message: answer, language: "")
    }

    /// A refusal by a quota, said in full to the client too: it is about the client's own
    /// share, or says only that the whole mailbox is full.
    func overQuota(_ id: UInt32, _ request: MailboxRequest, _ path: String, _ why: String) -> SFTPMessage {
        log.refused(request.rawValue, path, reason: why, answered: why)
        return .status(id: id, code: SFTP.StatusCode.failure.rawValue, message: why, language: "")
    }

    /// A status; a failure is logged.
    func status(_ id: UInt32, _ code: SFTP.StatusCode, _ message: String = "") -> SFTPMessage {
        if code != .ok && code != .eof { log.note("\(code): \(message)") }
        return .status(id: id, code: code.rawValue, message: message, language: "")
    }

    /// A system call failed: what `doing` met, as a status; in another organisation's mailbox,
    /// an error that tells whether a name exists is answered as any other refusal there.
    func errnoStatus(
        _ id: UInt32, _ request: MailboxRequest, _ doing: String, path: String = "",
        scope: MailboxScope = .own, error: Int32 = errno
    ) -> SFTPMessage {
        let said = "\(doing): \(String(cString: strerror(error)))"
        if scope == .other, [EEXIST, ENOENT, ENOTDIR, EISDIR, ELOOP, EACCES, EPERM].contains(error) {
            return refuse(id, request, path, said, .other)
        }
        let code: SFTP.StatusCode =
            switch error {
            case ENOENT: .noSuchFile
            case EACCES, EPERM: .permissionDenied
            default: .failure
            }
        return status(id, code, said)
    }

    // MARK: Listing and reading (own mailbox only, by the policy)

    func opendir(_ id: UInt32, _ path: MailboxPath) -> SFTPMessage {
        guard path.name == nil else {
            return refuse(id, .opendir, path.description, "only a mailbox folder can be listed", .own)
        }
        guard handles.count < MailboxLimits.maxOpenHandles else { return tooManyHandles(id) }
        guard let names = FileOperations.listFolder(folder(org)) else {
            return errnoStatus(id, .opendir, "listing \(path)")
        }
        // Transfers in progress (dot-names) are never shown. By the first byte: ".\u{301}x" is one
        // Character that is not ".", and was listed to the owner while another organisation
        // was still writing it.
        let listed = names.filter { !MailboxPath.isTemporary($0) }.sorted()
        lastListing = Set(listed.map { Array($0.utf8) })
        return newHandle(.directory(names: listed, offset: 0), id)
    }

    func readdir(_ id: UInt32, _ key: UInt32) -> SFTPMessage {
        guard case .directory(let names, let offset)? = handles[key] else {
            return status(id, .failure, "not an open folder handle")
        }
        guard offset < names.count else { return status(id, .eof) }
        let page = names[offset..<min(offset + MailboxLimits.readdirPage, names.count)]
        handles[key] = .directory(names: names, offset: offset + page.count)
        return .name(
            id: id,
            entries: page.map { name in
                var info = Glibc.stat()
                let attributes = lstat("\(folder(org))/\(name)", &info) == 0 ? Self.attributes(info) : SFTPAttributes()
                return SFTPName(filename: name, longname: name, attributes: attributes)
            })
    }

    func stat(_ id: UInt32, _ path: MailboxPath, _ scope: MailboxScope) -> SFTPMessage {
        var info = Glibc.stat()
        guard lstat(path.name == nil ? folder(path.org) : filePath(path), &info) == 0 else {
            return errnoStatus(id, .stat, "stat \(path)", path: path.description, scope: scope)
        }
        return .attrs(id: id, attributes: Self.attributes(info))
    }

    func openRead(_ id: UInt32, _ path: MailboxPath, _ scope: MailboxScope) -> SFTPMessage {
        guard path.name != nil else {
            return refuse(id, .openRead, path.description, "a mailbox folder is opened with OPENDIR", .own)
        }
        guard handles.count < MailboxLimits.maxOpenHandles else { return tooManyHandles(id) }
        // Never blocks on a FIFO put in the mailbox, and is refused below unless a regular file.
        let fd = Glibc.open(filePath(path), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return errnoStatus(id, .openRead, "open \(path)") }
        var info = Glibc.stat()
        guard Glibc.fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            return status(id, .failure, "\(path) is not a regular file")
        }
        // Another session's upload in progress is followed: its handle reads and asks whether
        // the file was published, nothing else (``MailboxPolicy``, the arriving column). Only an
        // upload the relay tagged with its uploader is one: any other dot-name (put there by
        // hand) would be "in progress" for ever, and a follower would wait on it to no end.
        if scope == .arriving && UploaderTag.read(fd) == nil {
            Glibc.close(fd)
            return status(id, .failure, "\(path) is not an upload in progress (no uploader tag)")
        }
        return newHandle(scope == .arriving ? .following(fd: fd, path: path) : .reading(fd: fd, path: path), id)
    }

    func remove(_ id: UInt32, _ path: MailboxPath, _ scope: MailboxScope) -> SFTPMessage {
        guard path.name != nil else {
            return refuse(id, .remove, path.description, "a mailbox folder is never removed", scope)
        }
        // An open upload stays where the quotas count it: otherwise its handle could go on
        // writing into a file no count on disk sees.
        guard !isOpenUpload(path) else {
            return refuse(id, .remove, path.description, "its handle is still open", scope)
        }
        guard unlink(filePath(path)) == 0 else {
            return errnoStatus(id, .remove, "remove \(path)", path: path.description, scope: scope)
        }
        // No folder sync: a removed bundle that comes back after a crash is collected again and
        // answered as a duplicate, by its bundle id.
        created.remove(path)
        return status(id, .ok)
    }

    static func attributes(_ info: Glibc.stat) -> SFTPAttributes {
        var a = SFTPAttributes(size: UInt64(info.st_size), permissions: UInt32(info.st_mode))
        a.accessTime = UInt32(truncatingIfNeeded: info.st_atim.tv_sec)
        a.modificationTime = UInt32(truncatingIfNeeded: info.st_mtim.tv_sec)
        return a
    }
}
