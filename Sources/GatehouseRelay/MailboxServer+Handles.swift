import Glibc
import CSystemShims
import GatehouseKit
import GatehouseSFTP

extension MailboxServer {
    func newHandle(_ id: UInt32, _ handle: OpenHandle) -> SFTPMessage {
        guard handles.count < 64 else {
            if case .file(let fd, _, _) = handle { Glibc.close(fd) }
            return status(id, .failure, "too many open handles")
        }
        let key = nextHandle
        nextHandle &+= 1
        handles[key] = handle
        return .handle(id: id, handle: withUnsafeBytes(of: key.bigEndian) { Array($0) })
    }

    func handleKey(_ bytes: [UInt8]) -> UInt32? {
        guard bytes.count == 4 else { return nil }
        return bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }

    func file(_ handle: [UInt8]) -> (fd: Int32, path: MailboxPath, writeLimit: UInt64?)? {
        guard let key = handleKey(handle), case .file(let fd, let path, let writeLimit)? = handles[key] else { return nil }
        return (fd, path, writeLimit)
    }

    func read(_ id: UInt32, _ handle: [UInt8], _ offset: UInt64, _ length: UInt32) -> SFTPMessage {
        guard let file = file(handle) else { return status(id, .failure, "not an open file handle") }
        guard let start = off_t(exactly: offset) else { return status(id, .eof) }
        let count = Int(min(length, UInt32(SFTP.maxPacketLength - 1024)))
        var data = [UInt8](repeating: 0, count: count)
        let n = data.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, count, start) }
        guard n >= 0 else { return errnoStatus(id, "read \(file.path)") }
        guard n > 0 else { return status(id, .eof) }
        return .data(id: id, data: Array(data.prefix(n)))
    }

    func write(_ id: UInt32, _ handle: [UInt8], _ offset: UInt64, _ data: [UInt8]) -> SFTPMessage {
        guard let file = file(handle), let limit = file.writeLimit else { return status(id, .failure, "not a handle open for writing") }
        // The quota holds for every byte, not only when the upload starts.
        guard offset <= limit, UInt64(data.count) <= limit - offset, let start = off_t(exactly: offset) else {
            return status(id, .failure, "\(file.path.org)'s mailbox quota does not leave room for this upload")
        }
        var done = 0
        while done < data.count {
            let n = data.withUnsafeBytes { pwrite(file.fd, $0.baseAddress! + done, data.count - done, start + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return errnoStatus(id, "write \(file.path)") }
            done += n
        }
        // Each time the upload passes an 8 MiB mark, start writing the last 8 MiB to disk, so
        // the fsync before publication has little left to do (as DurableFile does locally).
        let window: UInt64 = 8 << 20
        let end = offset + UInt64(data.count)
        if offset / window != end / window, end / window > 0 {
            _ = gatehouse_start_writeback(file.fd, Int64((end / window - 1) * window), Int64(window))
        }
        return status(id, .ok)
    }

    func fstat(_ id: UInt32, _ handle: [UInt8]) -> SFTPMessage {
        guard let file = file(handle) else { return status(id, .failure, "not an open file handle") }
        var info = Glibc.stat()
        guard Glibc.fstat(file.fd, &info) == 0 else { return errnoStatus(id, "fstat \(file.path)") }
        return .attrs(id: id, attributes: Self.attributes(info))
    }

    func fsync(_ id: UInt32, _ handle: [UInt8]) -> SFTPMessage {
        guard let file = file(handle) else { return status(id, .failure, "not an open file handle") }
        guard Glibc.fsync(file.fd) == 0 else { return errnoStatus(id, "fsync \(file.path)") }
        return status(id, .ok)
    }

    func close(_ id: UInt32, _ handle: [UInt8]) -> SFTPMessage {
        guard let key = handleKey(handle), let open = handles.removeValue(forKey: key) else { return status(id, .failure, "not an open handle") }
        if case .file(let fd, let path, _) = open, Glibc.close(fd) != 0 { return errnoStatus(id, "close \(path)") }
        return status(id, .ok)
    }

    func remove(_ id: UInt32, _ text: String) -> SFTPMessage {
        guard let path = MailboxPath(text), path.name != nil else { return refuse(id, "\(text.debugDescription) is not a file in a mailbox") }
        guard path.org == org || created.contains(path) else {
            return refuse(id, "\(org) may remove only its own mail and its own unfinished uploads")
        }
        guard unlink(filePath(path)) == 0 else { return errnoStatus(id, "remove \(path)") }
        // No folder sync: a removed bundle that comes back after a crash is collected again and
        // answered as a duplicate, by its bundle id.
        created.remove(path)
        log("\(org) removed \(path)")
        return status(id, .ok)
    }

    /// `posix-rename@openssh.com`, restricted: from a temporary name this session created to a
    /// final name in the same mailbox that does not exist yet (never an overwrite).
    func publish(_ id: UInt32, _ fromText: String, _ toText: String) -> SFTPMessage {
        guard let from = MailboxPath(fromText), let to = MailboxPath(toText), from.name != nil, to.name != nil else {
            return refuse(id, "rename needs two files in a mailbox")
        }
        guard created.contains(from), from.isTemporary else { return refuse(id, "only an upload made in this session can be published") }
        guard to.org == from.org, !to.isTemporary else { return refuse(id, "publish to a final name in the same mailbox") }
        do throws(SystemError) {
            try DurableFile.renameNoReplace(filePath(from), filePath(to))
        } catch {
            guard error.code == EEXIST else { return status(id, .failure, "publish \(to): \(error)") }
            // A retry of a delivery whose reply was lost: the same name always holds the same
            // bytes, so an identical file there means this upload is already delivered.
            guard Self.sameContents(filePath(from), filePath(to)) else {
                return status(id, .failure, "\(to) already exists with other contents; mailboxes never overwrite")
            }
            unlink(filePath(from))
            created.remove(from)
            created.insert(to)
            log("\(org): \(to) was already delivered with the same bytes; the new copy is dropped")
            return status(id, .ok)
        }
        created.remove(from)
        created.insert(to)
        // The client counts a bundle delivered on this answer: only once the name is durable.
        do { try DurableFile.syncFolder(folder(to.org)) } catch {
            return status(id, .failure, "publish \(to): the mailbox folder could not be synced: \(error)")
        }
        log("\(org) published \(to)")
        return status(id, .ok)
    }

    /// True when both regular files hold the same bytes.
    static func sameContents(_ a: String, _ b: String) -> Bool {
        let fa = Glibc.open(a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), fb = Glibc.open(b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        defer { if fa >= 0 { Glibc.close(fa) }; if fb >= 0 { Glibc.close(fb) } }
        guard fa >= 0, fb >= 0 else { return false }
        var sa = Glibc.stat(), sb = Glibc.stat()
        guard Glibc.fstat(fa, &sa) == 0, Glibc.fstat(fb, &sb) == 0, sa.st_size == sb.st_size else { return false }
        var ba = [UInt8](repeating: 0, count: 64 * 1024), bb = ba
        while true {
            let na = ba.withUnsafeMutableBytes { Glibc.read(fa, $0.baseAddress, $0.count) }
            guard na >= 0 else { return false }
            if na == 0 { return true }
            var got = 0
            while got < na {
                let n = bb.withUnsafeMutableBytes { Glibc.read(fb, $0.baseAddress! + got, na - got) }
                guard n > 0 else { return false }
                got += n
            }
            guard ba[0..<na] == bb[0..<na] else { return false }
        }
    }

    static func attributes(_ info: Glibc.stat) -> SFTPAttributes {
        var a = SFTPAttributes(size: UInt64(info.st_size), permissions: UInt32(info.st_mode))
        a.accessTime = UInt32(truncatingIfNeeded: info.st_atim.tv_sec)
        a.modificationTime = UInt32(truncatingIfNeeded: info.st_mtim.tv_sec)
        return a
    }
}
