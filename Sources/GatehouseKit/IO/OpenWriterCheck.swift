import CSystemShims
import Glibc

/// Tells whether anyone has a file open for writing: a record still being written must never be
/// sealed, whatever its size and modification time say (a writer may pause for longer than any
/// stable window).
///
/// First choice, a read lease (`fcntl F_SETLEASE F_RDLCK` on an `O_RDONLY` descriptor): the
/// kernel refuses it with `EAGAIN` while any process has the file open for writing, or mapped
/// shared and writable. It is permitted to the file's owner and to holders of `CAP_LEASE`, so it
/// works when records are dropped as the gateway's own user (the documented set-up). Otherwise
/// (another user's file, leases switched off, a file system without them), one scan of
/// `/proc/*/fd` per check object finds descriptors opened for writing, in the processes this
/// user may inspect. When neither can see every process, the answer is `unknown`, and the stable
/// window and inotify's `IN_CLOSE_WRITE` (see `OutboxScanner`) are all that stands between a
/// pausing writer and its half-written file.
public final class OpenWriterCheck {
    /// How an answer was reached.
    public enum Method: String, Sendable {
        case lease
        case processScan = "process scan"
    }

    /// The answer for one file.
    public enum Answer: Sendable, Equatable {
        /// Nobody has it open for writing.
        case noWriter(Method)
        /// Someone has it open for writing.
        case writer(Method)
        /// Not every process could be inspected, and none that could has it open for writing.
        case unknown
    }

    private let methods: [Method]
    private var snapshot: WriterSnapshot?

    /// A check trying `methods` in order (tests pass `[.processScan]` to exercise the fallback).
    public init(methods: [Method] = [.lease, .processScan]) { self.methods = methods }

    /// Whether anyone has `source`'s file open for writing now. A process scan is taken once, on
    /// first need, and reused for every later file checked through this object.
    public func check(_ source: FileSource) -> Answer {
        for method in methods {
            switch method {
            case .lease:
                if gatehouse_no_writers(source.fd) == 0 { return .noWriter(.lease) }
                if errno == EAGAIN || errno == EWOULDBLOCK { return .writer(.lease) }
            case .processScan:
                let scan = snapshot ?? WriterSnapshot.take()
                snapshot = scan
                if scan.files.contains(WriterSnapshot.Key(source.status)) { return .writer(.processScan) }
                return scan.complete ? .noWriter(.processScan) : .unknown
            }
        }
        return .unknown
    }
}

/// The regular files open for writing in every process whose descriptors this user may read.
struct WriterSnapshot {
    struct Key: Hashable {
        let device: UInt64, inode: UInt64
        init(_ status: FileStatus) { (device, inode) = (status.device, status.inode) }
    }

    /// Files open for writing (`O_WRONLY` or `O_RDWR`).
    var files: Set<Key> = []
    /// False when some process's descriptors could not be read (another user's, without privilege).
    var complete = true

    static func take() -> WriterSnapshot {
        var snapshot = WriterSnapshot()
        for pid in FileOperations.listFolder("/proc") ?? [] where pid.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            guard let descriptors = FileOperations.listFolder("/proc/\(pid)/fd") else {
                // Gone meanwhile (ENOENT) is fine; anything else is a process we cannot see into.
                if errno != ENOENT { snapshot.complete = false }
                continue
            }
            for fd in descriptors {
                var info = stat()
                // stat follows the descriptor's magic link to the open file itself.
                guard stat("/proc/\(pid)/fd/\(fd)", &info) == 0, FileType(mode: info.st_mode) == .regular,
                      let flags = openFlags(pid: pid, fd: fd), flags & O_ACCMODE != O_RDONLY else { continue }
                snapshot.files.insert(Key(FileStatus(info)))
            }
        }
        return snapshot
    }

    /// The `flags:` field of `/proc/PID/fdinfo/FD` (octal), e.g. `flags:\t0100002`.
    private static func openFlags(pid: String, fd: String) -> Int32? {
        let info = open("/proc/\(pid)/fdinfo/\(fd)", O_RDONLY | O_CLOEXEC)
        guard info >= 0 else { return nil }
        defer { close(info) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(info, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let key = Array("flags:".utf8)
        for line in bytes[..<n].split(separator: UInt8(ascii: "\n")) where line.starts(with: key) {
            let digits = line.dropFirst(key.count).filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            return Int32(String(decoding: digits, as: UTF8.self), radix: 8)
        }
        return nil
    }
}
