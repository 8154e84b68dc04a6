import CSystemShims
import Foundation
import Glibc
import Synchronization

/// How a directory mailbox (`dir:`) learns of new mail: `collector.watch` in gatehouse.toml.
public enum MailboxWatching: String, Sendable, CaseIterable {
    /// inotify, unless the mailbox folder is on a network file system (detected with statfs),
    /// where another machine's writes raise no events: then polling.
    case auto
    /// Polling every `collector.poll_interval`, whatever the file system.
    case poll
}

/// Waits until a directory mailbox holds a name its last listing did not return, with inotify,
/// as the relay's `mailbox-wait@gatehouse` does; the listing stays the truth (a periodic
/// listing still runs every `collector.poll_interval`, so a lost event only costs that long).
final class DirectoryMailboxWatch: Sendable {
    /// Why a wait ended.
    enum Outcome: Equatable, Sendable {
        case newMail, timedOut, cancelled
        /// Nothing to watch with (a network file system, `poll`, or inotify refused): slept.
        case polled
    }

    let watching: MailboxWatching
    /// Each mailbox folder's final names at its last listing.
    private let listed = Mutex<[String: Set<String>]>([:])

    init(watching: MailboxWatching) { self.watching = watching }

    /// Remembers what a listing of `folder` returned.
    func listed(_ names: [String], in folder: String) { listed.withLock { $0[folder] = Set(names) } }

    /// Waits for new mail in `folder` (inside `root`) for up to `timeout`.
    func wait(for folder: String, in root: String, upTo timeout: Duration) async -> Outcome {
        guard watching == .auto, !Self.isNetworkFileSystem(root), let watch = InotifyDescriptor(folder: folder, root: root)
        else {
            do { try await Task.sleep(for: timeout) } catch { return .cancelled }
            return .polled
        }
        let known = listed.withLock { $0[folder] } ?? []
        let milliseconds = Int64(timeout.components.seconds) * 1000 + Int64(timeout.components.attoseconds / 1_000_000_000_000_000)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Outcome, Never>) in
                // A thread of its own: poll(2) blocks, and the cooperative pool has one thread a core.
                let thread = Thread {
                    done.resume(returning: watch.wait(milliseconds: milliseconds) {
                        guard let names = FileOperations.listFolder(folder) else { return false }
                        // Watching the root until the folder existed: the collector lists it now,
                        // then waits on the folder itself.
                        if watch.watchesRoot { return true }
                        // Dot-names are transfers in progress: a partner writing one wakes nobody.
                        return names.contains { $0.utf8.first != UInt8(ascii: ".") && !known.contains($0) }
                    })
                    watch.close()
                }
                thread.name = "gatehouse-mailbox-watch"
                thread.start()
            }
        } onCancel: {
            watch.cancel()
        }
    }

    /// statfs(2) `f_type` values of file systems whose changes made on another machine raise no
    /// inotify event here (linux/magic.h and the file systems' own headers).
    static let networkFileSystems: Set<Int> = [
        0x6969,  // NFS
        0x517B,  // SMB
        0xFF53_4D42,  // CIFS
        0xFE53_4D42,  // SMB2
        0x6573_5546,  // FUSE (sshfs, virtiofs, s3fs, …)
        0x00C3_6400,  // Ceph
        0x0102_1997,  // 9P
        0x5346_414F,  // AFS
        0x7375_7245,  // Coda
        0x0BD0_0BD0,  // Lustre
        0x4750_4653,  // GPFS
        0x0116_1970,  // GFS2
        0x7461_636F,  // OCFS2
        0x564C,  // NCP
        0x2003_0528,  // OrangeFS
    ]

    /// True when `path` is on a file system in ``networkFileSystems`` (false when statfs fails:
    /// the folder is then missing, and the wait falls back on polling anyway).
    static func isNetworkFileSystem(_ path: String) -> Bool {
        let type = gatehouse_filesystem_type(path)
        return type >= 0 && networkFileSystems.contains(Int(type))
    }
}

/// An inotify descriptor watching a mailbox folder (or its parent, until the folder exists),
/// and a pipe that ends a wait when the task waiting is cancelled.
private final class InotifyDescriptor: Sendable {
    private let fd: Int32
    private let wake: (read: Int32, write: Int32)
    private let closed = Mutex(false)
    /// The mailbox folder did not exist yet: the root is watched for its creation.
    let watchesRoot: Bool

    init?(folder: String, root: String) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        var ends: [Int32] = [-1, -1]
        // A folder not yet created (no mail delivered yet): its creation in the root is news too.
        let events = UInt32(IN_MOVED_TO | IN_CREATE | IN_ONLYDIR)
        let watchesFolder = inotify_add_watch(fd, folder, events) >= 0
        watchesRoot = !watchesFolder
        guard gatehouse_pipe_nonblocking(&ends) == 0, watchesFolder || inotify_add_watch(fd, root, events) >= 0 else {
            Glibc.close(fd)
            for end in ends where end >= 0 { Glibc.close(end) }
            return nil
        }
        wake = (ends[0], ends[1])
    }

    /// Waits until `hasNewMail` holds (checked once before waiting, then at each event), the
    /// time is up, or ``cancel()``.
    func wait(milliseconds: Int64, hasNewMail: () -> Bool) -> DirectoryMailboxWatch.Outcome {
        let deadline = Self.now() + milliseconds
        var drain = [UInt8](repeating: 0, count: 4096)
        while true {
            // Watching began before this first look, so nothing arriving in between is missed.
            if hasNewMail() { return .newMail }
            let left = deadline - Self.now()
            guard left > 0 else { return .timedOut }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, Int32(min(left, Int64(Int32.max))))
            if ready < 0 && errno != EINTR { return .timedOut }
            if fds[1].revents != 0 { return .cancelled }
            if fds[0].revents != 0 {
                while drain.withUnsafeMutableBytes({ Glibc.read(fd, $0.baseAddress, $0.count) }) > 0 {}
            }
        }
    }

    /// Ends a wait in progress (or the next one); does nothing once closed.
    func cancel() {
        closed.withLock { closed in
            guard !closed else { return }
            var one: UInt8 = 1
            _ = Glibc.write(wake.write, &one, 1)
        }
    }

    func close() {
        closed.withLock { closed in
            guard !closed else { return }
            closed = true
            Glibc.close(fd)
            Glibc.close(wake.read)
            Glibc.close(wake.write)
        }
    }

    private static func now() -> Int64 {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        return Int64(clock.tv_sec) * 1000 + Int64(clock.tv_nsec) / 1_000_000
    }
}
