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
        // A young upload raises no event when it comes of age: look again when it does.
        var lookAgain: Int64?
        let met = wait(on: folder(org), events, timeout, input: input, lookAgain: { lookAgain }) {
            if hasNewMail() { return true }
            guard uploads else { return false }
            switch newUploadNews() {
            case .ready: return true
            case .youngFor(let milliseconds): lookAgain = milliseconds
            case .none: lookAgain = nil
            }
            return false
        }
        switch met {
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

    /// Waits until `condition` holds, looking again at each inotify event of `events` on `path`
    /// (and after `lookAgain()` milliseconds when it says so), for at most `timeout` milliseconds
    /// (and ``MailboxLimits/maxWaitMilliseconds``).
    func wait(
        on path: String, _ events: UInt32, _ timeout: UInt32, input: Int32, lookAgain: () -> Int64? = { nil },
        until condition: () -> Bool
    ) -> WaitOutcome {
        // One inotify instance serves the session's waits, one at a time: closing an instance
        // waits for the kernel's grace period (5-7 ms measured here), and a wait that closed its
        // own answered that much later, twice on a record's way (its bundle, then its receipt).
        if notifier < 0 {
            notifier = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard notifier >= 0 else { return .failed(errno) }
        }
        let watch = notifier
        var drain = [UInt8](repeating: 0, count: 4096)
        // Watch before looking, so nothing arriving in between is missed.
        let watched = inotify_add_watch(watch, path, events)
        guard watched >= 0 else { return .failed(errno) }
        defer {
            // Removing a watch does not wait; what it queued (IN_IGNORED) is read here.
            inotify_rm_watch(watch, watched)
            while drain.withUnsafeMutableBytes({ Glibc.read(watch, $0.baseAddress, $0.count) }) > 0 {}
        }
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let deadline =
            Int64(clock.tv_sec) * 1000 + Int64(clock.tv_nsec) / 1_000_000
            + Int64(min(timeout, MailboxLimits.maxWaitMilliseconds))
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
            let ready = poll(&fds, 3, Int32(min(left, max(1, lookAgain() ?? left))))
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
