import CSystemShims
import Glibc

/// The relay's sshd listener that accepted a session, watched so that the session ends when the
/// relay stops.
///
/// OpenSSH's sshd, stopped with SIGTERM, closes its listening socket and exits, but each
/// connection lives on in its own process (in its own session, after `setsid`): without this, a
/// gateway connected before the stop kept carrying mail through a relay its operator had
/// stopped. `gatehouse relay run` puts `--relay-pid-file` on every forced command; each session
/// finds the listener there, checks that it is one of its own ancestors (a stale file, or one
/// naming another relay, must not keep a session alive or end it), and waits on a pidfd for it
/// to exit, beside its input.
public struct RelayListener: ~Copyable {
    /// The listener's process id.
    public let pid: pid_t
    /// A pidfd that becomes readable when the listener exits.
    public let descriptor: Int32

    /// Why a session cannot be tied to its relay.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The pid file is missing or unreadable: the relay has stopped (sshd removes it on exit).
        case notRunning(String)
        /// The pid file names a process that did not start this session (a relay restarted, or
        /// killed without removing its file).
        case notAncestor(pid_t, String)
        /// The kernel cannot watch a process (no pidfd_open).
        case unwatchable(String)

        public var description: String {
            switch self {
            case .notRunning(let file): "the relay is not running (no process id in \(file))"
            case .notAncestor(let pid, let file):
                "the relay's sshd (process \(pid), named in \(file)) did not start this session: "
                    + "the relay stopped or restarted"
            case .unwatchable(let reason): "cannot watch the relay's sshd: \(reason)"
            }
        }
    }

    /// The listener named in `pidFile`, which must be an ancestor of this process.
    public init(pidFile: String) throws(Failure) {
        guard let bytes = Self.readSmall(pidFile),
              let pid = pid_t(String(decoding: bytes, as: UTF8.self).trimmingTrailingNewlines), pid > 1 else {
            throw .notRunning(pidFile)
        }
        guard Self.isAncestor(pid) else { throw .notAncestor(pid, pidFile) }
        let fd = gatehouse_pidfd_open(pid)
        guard fd >= 0 else {
            if errno == ESRCH { throw .notAncestor(pid, pidFile) }
            throw .unwatchable(String(cString: strerror(errno)))
        }
        // Checked again once the pidfd is held: had the listener exited in between and its pid
        // been reused, the new process would not be our ancestor.
        guard Self.isAncestor(pid) else {
            close(fd)
            throw .notAncestor(pid, pidFile)
        }
        self.pid = pid
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// True once the listener has exited.
    public var hasExited: Bool {
        var fds = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
        return poll(&fds, 1, 0) > 0
    }

    /// True when `pid` is this process's parent, grandparent, … (from /proc/PID/stat).
    static func isAncestor(_ pid: pid_t) -> Bool {
        var current = getppid()
        // sftp-server ← shell ← sshd session processes ← listener: a handful of steps.
        for _ in 0..<64 where current > 1 {
            if current == pid { return true }
            guard let parent = parent(of: current) else { return false }
            current = parent
        }
        return false
    }

    /// The parent of `pid`: the field after the state in "pid (comm) state ppid …".
    static func parent(of pid: pid_t) -> pid_t? {
        guard let bytes = readSmall("/proc/\(pid)/stat"), let end = bytes.lastIndex(of: UInt8(ascii: ")")) else {
            return nil
        }
        // The command name may hold spaces and parentheses: count fields after the last ')'.
        let fields = bytes[(end + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 1 else { return nil }
        return pid_t(String(decoding: fields[1], as: UTF8.self))
    }

    /// The first 4 KiB of a small file (a pid file, a /proc file whose size reads as 0).
    static func readSmall(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            count += n
        }
        return Array(bytes[0..<count])
    }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var bytes = Array(utf8)
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
