import CSystemShims
import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Glibc

extension MailboxServer {
    func newHandle(_ handle: OpenHandle, _ id: UInt32) -> SFTPMessage {
        let key = nextHandle
        nextHandle &+= 1
        handles[key] = handle
        return .handle(id: id, handle: withUnsafeBytes(of: key.bigEndian) { Array($0) })
    }

    func tooManyHandles(_ id: UInt32) -> SFTPMessage {
        status(id, .failure, "too many open handles (at most \(MailboxLimits.maxOpenHandles) a session)")
    }

    /// Runs `body` with the handle's key if the policy allows `request` where it was opened.
    func onHandle(
        _ request: MailboxRequest, _ id: UInt32, _ bytes: [UInt8], _ body: (UInt32) -> SFTPMessage
    ) -> SFTPMessage {
        guard bytes.count == 4, case let key = bytes.reduce(0, { $0 << 8 | UInt32($1) }), let handle = handles[key]
        else {
            return status(id, .failure, "not an open handle")
        }
        let scope: MailboxScope
        let path: String
        switch handle {
        case .reading(_, let file): (scope, path) = (.own, file.description)
        case .following(_, let file): (scope, path) = (.arriving, file.description)
        case .upload(_, let file, _): (scope, path) = (file.org == org ? .own : .upload, file.description)
        case .directory: (scope, path) = (.own, "/\(org.value)")
        case .published(_, let name):
            if case .refused(let why) = DirectoryAreaPolicy.decision(request) { return refuse(id, request, "/directory/\(name)", why, .own) }
            return body(key)
        }
        guard case .refused(let why) = MailboxPolicy.decision(request, in: scope) else { return body(key) }
        return refuse(id, request, path, why, scope)
    }

    /// True while this session holds a handle open on the upload `path`.
    func isOpenUpload(_ path: MailboxPath) -> Bool {
        handles.values.contains { if case .upload(_, path, _) = $0 { true } else { false } }
    }

    /// OPEN for writing: only a new file under a temporary name, in a registered organisation's
    /// mailbox, within the quotas, tagged with its uploader before anyone can see it.
    func create(_ id: UInt32, _ path: MailboxPath, _ flags: SFTP.OpenFlags, _ scope: MailboxScope) -> SFTPMessage {
        let text = path.description
        // The file is always created with O_EXCL below, so TRUNC (which OpenSSH's own client
        // sends) can never overwrite anything; reading and appending are refused.
        guard flags.contains(.write), flags.contains(.create), !flags.contains(.append), !flags.contains(.read) else {
            return refuse(
                id, .openCreate, text,
                "files may only be created new, never opened for overwriting, appending or reading back", scope)
        }
        guard path.isTemporary else {
            return refuse(
                id, .openCreate, text, "upload under a temporary dot-name, then publish with posix-rename@openssh.com",
                scope)
        }
        guard isRegistered(path.org) else {
            return refuse(id, .openCreate, text, "\(path.org) is not registered on this mailbox server", .own)
        }
        guard handles.count < MailboxLimits.maxOpenHandles else { return tooManyHandles(id) }
        let usage = MailboxUsage.measure(folder(path.org), sender: org)
        if let full = quotas.refusalToCreate(usage, sender: org, mailbox: path.org) {
            return overQuota(id, .openCreate, text, full)
        }
        budgets[path.org] = quotas.budget(usage, sender: org, mailbox: path.org)
        let fd = Glibc.open(filePath(path), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return errnoStatus(id, .openCreate, "create \(path)", path: text, scope: scope) }
        if let error = UploaderTag.set(fd, org) {
            // Without the tag, quotas could not be counted per sender nor a retry recognised:
            // fail closed.
            Glibc.close(fd)
            unlink(filePath(path))
            log.note("cannot tag \(path) with \(UploaderTag.name) (\(String(cString: strerror(error)))): the mailbox "
                     + "file system must keep user extended attributes (ext4, XFS, Btrfs, tmpfs on Linux 6.6+); "
                     + "uploads are refused")
            return status(
                id, .failure,
                "the relay cannot record who uploaded this file; uploads are refused until its operator fixes it")
        }
        created.insert(path)
        return newHandle(.upload(fd: fd, path: path, written: 0), id)
    }

    func read(_ id: UInt32, _ key: UInt32, _ offset: UInt64, _ length: UInt32) -> SFTPMessage {
        let fd: Int32, path: String
        switch handles[key] {
        case .reading(let f, let p)?, .following(let f, let p)?: (fd, path) = (f, p.description)
        case .published(let f, let name)?: (fd, path) = (f, "/directory/" + name)
        default: return status(id, .failure, "not a handle open for reading")
        }
        guard let start = off_t(exactly: offset) else { return status(id, .eof) }
        let count = min(Int(length), MailboxLimits.maxReadLength)
        var data = [UInt8](repeating: 0, count: count)
        let n = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, start) }
        guard n >= 0 else { return errnoStatus(id, .read, "read \(path)") }
        guard n > 0 else { return status(id, .eof) }
        return .data(id: id, data: Array(data.prefix(n)))
    }

    func write(_ id: UInt32, _ key: UInt32, _ offset: UInt64, _ data: [UInt8]) -> SFTPMessage {
        guard case .upload(let fd, let path, let written)? = handles[key] else {
            return status(id, .failure, "not a handle open for writing")
        }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(data.count))
        guard !overflow, let start = off_t(exactly: offset), off_t(exactly: end) != nil else {
            return status(id, .failure, "a write beyond the largest file size")
        }
        // Only growth counts, drawn from the one budget every handle of this session shares
        // in that mailbox: rewriting bytes already counted is free; a write far out counts
        // every byte up to its end, as the file's size does.
        if end > written, let full = draw(end - written, in: path.org, for: fd) {
            return overQuota(id, .write, path.description, full)
        }
        // A write anywhere but at the end of what was written changes bytes the mailbox's owner
        // may already have read while the upload was in progress (or fills a hole it read as
        // zeros): marked before the write, so that its upload state says so. Fail closed.
        // (Once: each mark raises IN_ATTRIB on the mailbox folder, which wakes every waiter there,
        // and rewriting costs no quota, so a sender could otherwise ring it at every write.)
        if offset != written, !RewriteMark.isSet(fd), let error = RewriteMark.set(fd) {
            return status(
                id, .failure, "write \(path): cannot mark the upload as rewritten: \(String(cString: strerror(error)))")
        }
        var done = 0
        while done < data.count {
            let n = data.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, data.count - done, start + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return errnoStatus(id, .write, "write \(path)") }
            done += n
        }
        handles[key] = .upload(fd: fd, path: path, written: max(written, end))
        // Each time the upload passes an 8 MiB mark, start writing the last 8 MiB to disk, so
        // the fsync before publication has little left to do (as DurableFile does locally).
        let window: UInt64 = 8 << 20
        if offset / window != end / window, end / window > 0 {
            _ = gatehouse_start_writeback(fd, Int64((end / window - 1) * window), Int64(window))
        }
        return status(id, .ok)
    }

    /// Takes `bytes` for the upload open at `fd` from this session's budget in `mailbox`,
    /// counting what the organisation holds there on disk again (its other sessions included)
    /// when the budget would not cover them or the recount interval has been written; the
    /// refusal if the quotas do not allow it.
    func draw(_ bytes: UInt64, in mailbox: ODSCode, for fd: Int32) -> String? {
        guard var budget = budgets[mailbox], !budget.needsCount(before: bytes) else {
            // A file no longer in the mailbox (its owner removed it) is not in any count: it
            // takes no more bytes.
            var info = Glibc.stat()
            guard Glibc.fstat(fd, &info) == 0, info.st_nlink > 0 else {
                return "the upload was removed from \(mailbox)'s mailbox; it takes no more bytes"
            }
            let usage = MailboxUsage.measure(folder(mailbox), sender: org)
            var counted = quotas.budget(usage, sender: org, mailbox: mailbox)
            defer { budgets[mailbox] = counted }
            return counted.draw(bytes)
        }
        defer { budgets[mailbox] = budget }
        return budget.draw(bytes)
    }

    func fstat(_ id: UInt32, _ key: UInt32) -> SFTPMessage {
        let fd: Int32
        let path: String
        switch handles[key] {
        case .reading(let f, let p)?, .following(let f, let p)?, .upload(let f, let p, _)?:
            (fd, path) = (f, p.description)
        case .published(let f, let name)?: (fd, path) = (f, "/directory/" + name)
        default: return status(id, .failure, "not an open file handle")
        }
        var info = Glibc.stat()
        guard Glibc.fstat(fd, &info) == 0 else { return errnoStatus(id, .fstat, "fstat \(path)") }
        return .attrs(id: id, attributes: Self.attributes(info))
    }

    func fsync(_ id: UInt32, _ key: UInt32) -> SFTPMessage {
        guard case .upload(let fd, let path, _)? = handles[key] else {
            return status(id, .failure, "not a handle open for writing")
        }
        guard Glibc.fsync(fd) == 0 else { return errnoStatus(id, .fsync, "fsync \(path)") }
        return status(id, .ok)
    }

    func close(_ id: UInt32, _ key: UInt32) -> SFTPMessage {
        switch handles.removeValue(forKey: key) {
        case .reading(let fd, let path)?, .following(let fd, let path)?, .upload(let fd, let path, _)?:
            guard Glibc.close(fd) == 0 else { return errnoStatus(id, .close, "close \(path)") }
        case .published(let fd, _)?: Glibc.close(fd)
        default: break
        }
        return status(id, .ok)
    }
}
