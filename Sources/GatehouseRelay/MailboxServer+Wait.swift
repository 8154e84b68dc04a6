import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Glibc

extension MailboxServer {
    /// `mailbox-wait@gatehouse`: answers OK as soon as the own mailbox holds a name that this
    /// session's last listing did not return (with the `uploads` flag, or an upload in progress
    /// its last `mailbox-uploads@gatehouse` did not return), EOF when `timeout` passes or when
    /// the client sends another request (which is then served). Waits on inotify, so new mail is
    /// seen at once.
    func waitForMail(
        _ id: UInt32, _ path: MailboxPath, _ timeout: UInt32, flags: SFTP.WaitFlags, input: Int32
    ) -> SFTPMessage {
        let uploads = flags.contains(.uploads)
        // An upload is tagged just after it is created: its IN_CREATE may come before the tag,
        // and setting the tag raises IN_ATTRIB.
        let events = UInt32(IN_MOVED_TO | IN_CREATE | IN_ONLYDIR) | (uploads ? UInt32(IN_ATTRIB) : 0)
        switch wait(
            on: folder(org), events, timeout, input: input, until: { hasNewMail() || uploads && hasNewUpload() })
        {
        case .met: return status(id, .ok)
        case .ended: return status(id, .eof)
        case .failed(let error): return errnoStatus(id, .mailboxWait, "waiting on \(path)", error: error)
        }
    }

    /// How a wait ended.
    enum WaitOutcome {
        /// The condition holds.
        case met
        /// The timeout passed, the client sent another request (or went away), or the relay stopped.
        case ended
        /// The watch could not be set or polled: this errno.
        case failed(Int32)
    }

    /// Waits until `condition` holds, looking again at each inotify event of `events` on `path`,
    /// for at most `timeout` milliseconds (and ``MailboxLimits/maxWaitMilliseconds``).
    func wait(
        on path: String, _ events: UInt32, _ timeout: UInt32, input: Int32, until condition: () -> Bool
    ) -> WaitOutcome {
        let watch = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard watch >= 0 else { return .failed(errno) }
        defer { Glibc.close(watch) }
        // Watch before looking, so nothing arriving in between is missed.
        guard inotify_add_watch(watch, path, events) >= 0 else { return .failed(errno) }
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let deadline =
            Int64(clock.tv_sec) * 1000 + Int64(clock.tv_nsec) / 1_000_000
            + Int64(min(timeout, MailboxLimits.maxWaitMilliseconds))
        var drain = [UInt8](repeating: 0, count: 4096)
        while true {
            if condition() { return .met }
            clock_gettime(CLOCK_MONOTONIC, &clock)
            let left = deadline - (Int64(clock.tv_sec) * 1000 + Int64(clock.tv_nsec) / 1_000_000)
            guard left > 0 else { return .ended }
            var fds = [
                pollfd(fd: watch, events: Int16(POLLIN), revents: 0),
                pollfd(fd: input, events: Int16(POLLIN), revents: 0),
                pollfd(fd: lifeline, events: Int16(POLLIN), revents: 0),  // ignored by poll when -1
            ]
            let ready = poll(&fds, 3, Int32(left))
            if ready < 0 && errno != EINTR { return .failed(errno) }
            // The client has something else to say (or has gone), or the relay stopped (the
            // session then ends before reading more): stop waiting.
            if fds[1].revents != 0 || fds[2].revents != 0 { return .ended }
            if fds[0].revents != 0 {
                while drain.withUnsafeMutableBytes({ Glibc.read(watch, $0.baseAddress, $0.count) }) > 0 {}
            }
        }
    }

    /// True when the own mailbox holds a final name the last listing did not return.
    func hasNewMail() -> Bool {
        let names = FileOperations.listFolder(folder(org)) ?? []
        return names.contains { !MailboxPath.isTemporary($0) && !lastListing.contains(Array($0.utf8)) }
    }
}
