import Foundation
import Glibc

/// An exclusive `flock` on a file in the home folder, held until ``release()`` or the end of the
/// process. The kernel drops it on any death (kill -9 included), so a crashed holder never leaves
/// a stale lock behind, and the holder's PID is written into the file so that a refused second
/// process can name the first.
///
/// Three locks exist:
/// - ``daemon(_:)`` (`gatehouse.lock`), held by `gatehouse run` for its whole life: two daemons
///   on one home claimed records twice, raced each other's receipts and failed bundles that were
///   in fact delivered;
/// - ``keyChange(_:)`` (`.keys.lock`), held for a moment by every command that signs a new
///   own key manifest (rotate, revoke, set-mailbox): two at once would both sign version N+1;
/// - ``witnessState(_:)`` (`witness/.state.lock`), held while a witness decides on a checkpoint.
public final class HomeLock: @unchecked Sendable {
    /// The locked file.
    public let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Takes the daemon lock of `home` without waiting; throws naming the running daemon's PID.
    public static func daemon(_ home: GatehouseHome) throws(KitError) -> HomeLock {
        let path = home.path + "/gatehouse.lock"
        guard let lock = try acquire(path, wait: false) else {
            let holder = holderPID(path).map { "PID \($0)" } ?? "a process"
            throw .busy("another `gatehouse run` (\(holder)) is already running on \(home.path); two gateways on one home would "
                        + "claim records twice", path: path)
        }
        return lock
    }

    /// Takes the key-change lock of `home`, waiting up to about 10 seconds for another command
    /// (or, with `wait: false`, not at all: the daemon never waits for a person).
    public static func keyChange(_ home: GatehouseHome, wait: Bool = true) throws(KitError) -> HomeLock {
        let path = home.path + "/.keys.lock"
        for _ in 0..<(wait ? 100 : 1) {
            if let lock = try acquire(path, wait: false) { return lock }
            if wait { usleep(100_000) }
        }
        let holder = holderPID(path).map { "PID \($0)" } ?? "another process"
        throw .busy("another key change (\(holder)) holds \(path); try again when it has finished", path: path)
    }

    /// Takes the witness-state lock of `home` (`witness/.state.lock`), waiting up to about 10
    /// seconds: tlog-witness requires the check of a request's old size and the write of the new
    /// latest checkpoint to be one step, or two requests racing could roll the witness back.
    public static func witnessState(_ home: GatehouseHome) throws(KitError) -> HomeLock {
        let path = home.path + "/witness/.state.lock"
        for _ in 0..<100 {
            if let lock = try acquire(path, wait: false) { return lock }
            usleep(100_000)
        }
        throw .busy("another witness process holds \(path); try again when it has finished", path: path)
    }

    /// Releases the lock (also done at deinit and by the kernel at exit).
    public func release() {
        guard descriptor >= 0 else { return }
        // The PID goes with the lock (``runningDaemon(_:)`` reads it); after a kill -9 it stays,
        // but names a process that is gone.
        _ = ftruncate(descriptor, 0)
        close(descriptor)
        descriptor = -1
    }

    /// The lock, or nil when another process holds it.
    private static func acquire(_ path: String, wait: Bool) throws(KitError) -> HomeLock? {
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 && errno == ENOENT {
            // A home folder not made yet (partners pinned before `init`): made as `init` would.
            try FileOperations.makeDirectory(DurableFile.split(path).folder, mode: 0o700)
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        guard fd >= 0 else { throw .io("\(SystemError("opening the lock file", path))", path: path) }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { return nil }
            throw .io("\(SystemError("locking", path, code: code))", path: path)
        }
        // The PID is only a label for the message above; the flock is the lock.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        return HomeLock(path: path, descriptor: fd)
    }

    /// The PID of the `gatehouse run` working on `home` now, if one is: for messages only
    /// (a live process with the PID the lock file names, whose command line names gatehouse). Never takes
    /// or creates the lock, so it cannot get in the way of a daemon starting this moment.
    public static func runningDaemon(_ home: GatehouseHome) -> Int32? {
        guard let pid = holderPID(home.path + "/gatehouse.lock"), pid > 0,
              kill(pid, 0) == 0 || errno == EPERM,
              // (/proc files report size 0: read to the end, not by their size.)
              let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return String(decoding: command, as: UTF8.self).contains("gatehouse") ? pid : nil
    }

    /// The PID written by the holder, when readable.
    private static func holderPID(_ path: String) -> Int32? {
        guard let bytes = try? FileOperations.read(at: path, limit: 32) else { return nil }
        return Int32(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
