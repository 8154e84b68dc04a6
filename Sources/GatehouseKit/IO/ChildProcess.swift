import CSystemShims
import Foundation
import Glibc
import Synchronization

/// A child program started with `posix_spawn` and reaped by its own thread.
///
/// Gatehouse runs OpenSSH (`ssh`, `sshd`) this way rather than with Foundation's `Process`:
/// OpenSSH closes every inherited descriptor at start, which Foundation takes as the child's
/// exit, and its single monitor thread then blocks in `waitpid` on that child, so that no other
/// child's exit is noticed while it runs.
public final class ChildProcess: Sendable {
    /// The process id.
    public let pid: pid_t
    private let state = Mutex<(status: Int32?, handlers: [@Sendable (Int32) -> Void])>((nil, []))

    /// Starts `executable` with `arguments`, its standard input, output and error on the given
    /// descriptors (which it gets as 0, 1 and 2); every other descriptor is closed in the child.
    /// `environment` replaces this process's environment when given.
    public init(executable: String, arguments: [String], stdin: Int32, stdout: Int32, stderr: Int32,
                environment: [String: String]? = nil) throws(KitError) {
        // Whoever starts a child writes to it through a pipe: a write after the child closed its
        // end (exited, or closed its input) must fail with EPIPE, never kill this process. Set
        // here, once for every caller (ssh for the SFTP client, notify commands, sshd).
        signal(SIGPIPE, SIG_IGN)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        gatehouse_spawn_close_from(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling (the parent ignores SIGPIPE).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { argv.forEach { free($0) }; envp?.forEach { free($0) } }
        var child: pid_t = 0
        let result: Int32
        if var envp {
            result = posix_spawn(&child, executable, &actions, &attributes, argv, &envp)
        } else {
            result = posix_spawn(&child, executable, &actions, &attributes, argv, environ)
        }
        guard result == 0 else {
            throw .io("cannot start \(executable): \(String(cString: strerror(result)))", path: executable)
        }
        pid = child
        let thread = Thread { [self] in reap() }
        thread.name = "gatehouse-child-\(child)"
        thread.start()
    }

    /// A pipe whose descriptors are closed on exec: (read end, write end).
    public static func pipe() throws(KitError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard gatehouse_pipe_cloexec(&fds) == 0 else { throw .io("pipe: \(String(cString: strerror(errno)))", path: "") }
        return (fds[0], fds[1])
    }

    /// Writes all of `bytes` to a pipe or file descriptor; false when it breaks (the reader is gone).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    private func reap() {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let handlers = state.withLock { state in
            state.status = status
            return state.handlers
        }
        for handler in handlers { handler(status) }
    }

    /// The raw wait status once the child has exited, else nil.
    public var waitStatus: Int32? { state.withLock { $0.status } }

    /// True until the child has exited and been reaped.
    public var isRunning: Bool { waitStatus == nil }

    /// The exit code, or 128 + the signal number for a child killed by a signal; nil while running.
    public var exitCode: Int32? {
        guard let status = waitStatus else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Calls `handler` with the wait status when the child exits (at once if it has).
    public func onExit(_ handler: @escaping @Sendable (Int32) -> Void) {
        let done: Int32? = state.withLock { state in
            if let status = state.status { return status }
            state.handlers.append(handler)
            return nil
        }
        if let done { handler(done) }
    }

    /// Sends `signal` while the child runs (never to a reaped, possibly reused, pid).
    public func send(_ signal: Int32) {
        state.withLock { state in
            if state.status == nil { _ = kill(pid, signal) }
        }
    }

    /// Waits for the child to exit and returns its exit code (see ``exitCode``).
    @discardableResult
    public func wait() -> Int32 {
        while isRunning { usleep(5_000) }
        return exitCode ?? 0
    }
}
