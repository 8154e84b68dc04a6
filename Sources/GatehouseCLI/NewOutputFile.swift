import Foundation
import Glibc
import GatehouseKit

/// A small output a person names with `-o FILE` (an identity card): written new, never over an
/// existing file, as the rest of Gatehouse writes (a temporary file beside it, fsync, rename).
///
/// The temporary file can go beside the target only when its folder is writable, which it often
/// is not for the service user (`sudo -u gatehouse gatehouse identity export -o A81001.card` in
/// an administrator's own folder). Then the command fails saying so, rather than naming a
/// temporary file the person never asked for. A target that exists and is not a regular file
/// (`/dev/stdout` into a pipe, a FIFO) is written straight, without a temporary file.
enum NewOutputFile {
    /// Writes `bytes` to `path`; true when a new file was created, false when an existing FIFO
    /// or device was written.
    static func write(_ bytes: [UInt8], to path: String) throws -> Bool {
        // Standard output as a name: the descriptor this process was given, not the file
        // reopened (a pipe made by another user's shell cannot be reopened by the service user).
        if let fd = inheritedDescriptor(path) {
            guard ChildProcess.writeAll(fd, bytes) else {
                throw KitError.io("cannot write \(path): \(String(cString: strerror(errno)))", path: path)
            }
            return false
        }
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT != S_IFREG, info.st_mode & S_IFMT != S_IFDIR else {
                throw KitError.fileExists("\(path) already exists", path: path)
            }
            try writeStraight(bytes, to: path)
            return false
        }
        var folder = DurableFile.split(path).folder
        guard access(folder, W_OK) == 0 else {
            if folder == "." { folder = FileManager.default.currentDirectoryPath }
            let why = errno == ENOENT ? "the folder \(folder) does not exist"
                : errno == EROFS ? "the folder \(folder) is on a read-only file system"
                : "user \(userName()) may not write in the folder \(folder)"
            throw CommandFailure(
                status: .ioError, message: "cannot create \(path): \(why)",
                hint: "name a file in a folder \(userName()) may write, or print to standard output and let your "
                    + "shell write the file: `gatehouse identity export > \(DurableFile.split(path).name)`")
        }
        try FileOperations.createExclusively(at: path, contents: bytes, mode: 0o644)
        return true
    }

    /// Writes to a FIFO, a terminal or a pipe behind /dev/stdout: no temporary file, nothing
    /// created, nothing truncated.
    private static func writeStraight(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw KitError.io("cannot open \(path): \(String(cString: strerror(errno)))", path: path) }
        defer { close(fd) }
        guard ChildProcess.writeAll(fd, bytes) else {
            throw KitError.io("cannot write \(path): \(String(cString: strerror(errno)))", path: path)
        }
    }

    /// The descriptor `/dev/stdout`, `/dev/stderr` or `/dev/fd/N` names.
    private static func inheritedDescriptor(_ path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default:
            guard path.hasPrefix("/dev/fd/"), let fd = Int32(path.dropFirst("/dev/fd/".count)), fcntl(fd, F_GETFD) >= 0
            else { return nil }
            return fd
        }
    }

    private static func userName() -> String {
        getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
    }
}
