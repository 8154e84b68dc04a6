import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Glibc

/// Uploads arriving in the own mailbox: the owner learns of them (`mailbox-uploads@gatehouse`,
/// `mailbox-wait@gatehouse` with the `uploads` flag), reads them as they grow (OPEN for reading
/// only, ``MailboxPolicy``) and asks whether the file it reads was published
/// (`mailbox-upload-state@gatehouse`). Only the sender's publish makes an upload a bundle.
extension MailboxServer {
    /// The names of this session's own unfinished uploads in its own mailbox: never news to it.
    var ownUploadNames: Set<String> { Set(created.filter { $0.org == org }.compactMap(\.name)) }

    /// `mailbox-uploads@gatehouse` on `path`, the own mailbox folder (the policy refused others).
    func listUploads(_ id: UInt32, _ path: MailboxPath) -> SFTPMessage {
        guard path.name == nil else {
            return refuse(id, .mailboxUploads, path.description, "only a mailbox folder lists its uploads", .own)
        }
        let uploads = UploadInProgress.scan(folder(org), excluding: ownUploadNames)
        // Everything seen counts as told, the unlisted beyond the limit too: a wait must not
        // answer again and again for uploads no listing can show.
        toldUploads = Set(uploads.map(\.key))
        let listed = uploads.prefix(MailboxLimits.maxUploadsListed).map {
            SFTPMailboxUpload(name: $0.name, uploader: $0.uploader.value, size: $0.size)
        }
        return .extendedReply(id: id, data: SFTPMailboxUploads.encoded(Array(listed)))
    }

    /// Whether the own mailbox holds an upload in progress this session has not been told about
    /// that is worth waking a waiter for: one in progress for at least
    /// ``followAfterMilliseconds`` (``MailboxLimits/followAfterMilliseconds``). A younger one is usually published before a
    /// follower could open it (a 100 KB upload takes a few milliseconds), and the publish wakes
    /// the waiter as mail; waking for it would send the waiter listing, opening a name that is
    /// gone and waiting again, several round trips later than the mail itself.
    func newUploadNews() -> UploadNews {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var soonest: Int64?
        for upload in UploadInProgress.scan(folder(org), excluding: ownUploadNames) where !toldUploads.contains(upload.key) {
            let age = (Int64(now.tv_sec) - upload.key.born) * 1000
                + (Int64(now.tv_nsec) - Int64(upload.key.bornNanoseconds)) / 1_000_000
            let left = Int64(followAfterMilliseconds) - age
            // (A birth time ahead of the clock counts as old: a clock set back must not hide it.)
            if left <= 0 || age < 0 { return .ready }
            soonest = min(soonest ?? left, left)
        }
        return soonest.map { .youngFor(milliseconds: $0) } ?? .none
    }

    /// What a wait for uploads found.
    enum UploadNews: Equatable {
        /// Nothing new.
        case none
        /// A new upload old enough to follow.
        case ready
        /// New uploads, the oldest of them old enough in this many milliseconds.
        case youngFor(milliseconds: Int64)
    }

    /// `mailbox-upload-state@gatehouse` on the handle `key` (the policy allowed it: a handle open
    /// for reading on an upload arriving in the own mailbox). With `whileSize`, waits up to
    /// `timeout` milliseconds for the state to be anything but in progress at that size.
    func uploadState(_ id: UInt32, _ key: UInt32, whileSize: UInt64?, _ timeout: UInt32, input: Int32) -> SFTPMessage {
        guard case .following(let fd, let path)? = handles[key] else {
            return status(id, .failure, "not a handle open on an upload in progress")
        }
        var state = followedState(fd, path)
        if let whileSize, state.phase == .inProgress, state.size == whileSize, !state.rewritten {
            // The file itself is watched: a write (IN_MODIFY), an unlink or a mark (IN_ATTRIB:
            // the link count or an extended attribute), a rename (IN_MOVE_SELF).
            let events = UInt32(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF)
            let outcome = wait(on: "/proc/self/fd/\(fd)", events, timeout, input: input) {
                state = followedState(fd, path)
                return state.phase != .inProgress || state.size != whileSize || state.rewritten
            }
            switch outcome {
            case .met: break
            // A watch that cannot be set is an error, not an answer at once: the follower would
            // ask again at once, and both ends would spin.
            case .failed(let error): return errnoStatus(id, .uploadState, "watching \(path)", error: error)
            // A timeout or another request: the state as it is now.
            case .ended: state = followedState(fd, path)
            }
        }
        return .extendedReply(id: id, data: state.encoded())
    }

    /// Where the file open at `fd`, an upload that was under `path`, is now. Decided by the file
    /// (device and inode), never by names or sizes: a new file under the same dot-name, or a
    /// final name made from another file, is not the one being read.
    func followedState(_ fd: Int32, _ path: MailboxPath) -> SFTPUploadState {
        var info = Glibc.stat()
        guard Glibc.fstat(fd, &info) == 0 else { return SFTPUploadState(.abandoned, size: 0) }
        let phase: SFTPUploadState.Phase
        var now = Glibc.stat()
        if info.st_nlink == 0 {
            // No name left anywhere (the relay never makes hard links): removed.
            phase = .abandoned
        } else if lstat(filePath(path), &now) == 0, now.st_dev == info.st_dev, now.st_ino == info.st_ino {
            phase = .inProgress
        } else if let name = finalName(of: info) {
            // The rename that publishes is atomic: the dot-name is gone, so a final name holds
            // the file if anything does. Only the session that created it can publish it.
            phase = .published(name: name)
        } else {
            phase = .abandoned
        }
        // The size and the mark are read after the phase: a sender closes its upload before it
        // may publish it, so once the phase says published every write and mark it made is seen
        // here (read before, a last write and its publish could slip in between, and a short or
        // unmarked file would be answered as the bundle).
        var after = Glibc.stat()
        let size = Glibc.fstat(fd, &after) == 0 ? UInt64(max(0, after.st_size)) : UInt64(max(0, info.st_size))
        return SFTPUploadState(phase, size: size, rewritten: RewriteMark.isSet(fd))
    }

    /// The final name in the own mailbox under which the file `info` describes is, if any: one
    /// pass over the folder comparing inode numbers, then the device and inode confirmed.
    func finalName(of info: Glibc.stat) -> String? {
        guard let dir = Glibc.opendir(folder(org)) else { return nil }
        defer { closedir(dir) }
        while let entry = Glibc.readdir(dir) {
            guard UInt64(entry.pointee.d_ino) == UInt64(info.st_ino) else { continue }
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard let name = String(validating: bytes, as: UTF8.self), !MailboxPath.isTemporary(name) else { continue }
            var found = Glibc.stat()
            if lstat("\(folder(org))/\(name)", &found) == 0, found.st_dev == info.st_dev, found.st_ino == info.st_ino {
                return name
            }
        }
        return nil
    }
}
