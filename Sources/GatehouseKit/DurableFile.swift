#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GatehouseCrypto

#if canImport(Glibc)
private let readBytes = Glibc.read
private let writeBytes = Glibc.write
#elseif canImport(Darwin)
private let readBytes = Darwin.read
private let writeBytes = Darwin.write
#endif

/// Durable, race-free file writes (BRIEF: "temp file in the same folder, fsync the file, rename,
/// fsync the folder. An fsync error is fatal for that file").
public enum DurableFile {
    /// Creates `path` as a new file with `mode`, writes `contents`, and syncs the file and its
    /// folder. Never overwrites: an existing file (or a symbolic link) gives `fileExists`.
    public static func createExclusively(at path: String, contents: UnsafeRawBufferPointer, mode: UInt32) throws(KitError) {
        // O_EXCL makes creation atomic with the existence check; O_NOFOLLOW refuses a planted link.
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else {
            if errno == EEXIST || errno == ELOOP { throw .fileExists("\(path) already exists", path: path) }
            throw ioError("could not create", path)
        }
        do {
            try writeAndSync(fd, contents, path: path)
        } catch {
            // A file that could not be made durable is not left behind half-written.
            unlink(path)
            throw error
        }
        try syncDirectory(of: path)
    }

    /// ``createExclusively(at:contents:mode:)`` for public bytes.
    public static func createExclusively(at path: String, contents: [UInt8], mode: UInt32) throws(KitError) {
        try withBytes(contents) { (bytes) throws(KitError) in try createExclusively(at: path, contents: bytes, mode: mode) }
    }

    /// Replaces (or creates) `path` atomically: readers see the old file or the new one, never a
    /// mix, and after a crash the new contents are either fully there or not at all.
    public static func replaceAtomically(at path: String, contents: [UInt8], mode: UInt32) throws(KitError) {
        let (folder, name) = split(path)
        let temporary = "\(folder)/.\(name).tmp-\(randomBytes(6).hexString)"
        try createWithoutFolderSync(at: temporary, contents: contents, mode: mode)
        guard rename(temporary, path) == 0 else {
            let error = ioError("could not rename \(temporary) to", path)
            unlink(temporary)
            throw error
        }
        try syncDirectory(of: path)
    }

    private static func createWithoutFolderSync(at path: String, contents: [UInt8], mode: UInt32) throws(KitError) {
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw ioError("could not create", path) }
        do {
            try withBytes(contents) { (bytes) throws(KitError) in try writeAndSync(fd, bytes, path: path) }
        } catch {
            unlink(path)
            throw error
        }
    }

    /// Creates the folder `path` with `mode` if it does not exist; an existing folder is kept.
    public static func makeDirectory(_ path: String, mode: UInt32) throws(KitError) {
        if mkdir(path, mode_t(mode)) == 0 {
            try syncDirectory(of: path)
            return
        }
        guard errno == EEXIST else { throw ioError("could not create the folder", path) }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw .io("\(path) exists and is not a folder", path: path)
        }
    }

    /// Makes the entry for `path` durable by syncing the folder that contains it.
    public static func syncDirectory(of path: String) throws(KitError) {
        let folder = split(path).folder
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("could not open the folder", folder) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw ioError("could not sync the folder", folder) }
    }

    /// The whole of a file of at most `limit` bytes, or nil when it does not exist. Symbolic
    /// links are refused unless `followingLinks` (for files a person names on the command line).
    public static func read(at path: String, limit: Int, followingLinks: Bool = false) throws(KitError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw ioError("could not open", path)
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: limit + 1)
        var total = 0
        while total <= limit {
            let n = buffer.withUnsafeMutableBytes { readBytes(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ioError("could not read", path) }
            if n == 0 { break }
            total += n
        }
        guard total <= limit else { throw .invalidInput("\(path) is larger than \(limit) bytes", path: path) }
        return Array(buffer.prefix(total))
    }

    /// Writes everything, fsyncs and closes `fd`; any failure is an error (never ignored).
    static func writeAndSync(_ fd: Int32, _ contents: UnsafeRawBufferPointer, path: String) throws(KitError) {
        var offset = 0
        while offset < contents.count {
            let n = writeBytes(fd, contents.baseAddress! + offset, contents.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let error = ioError("could not write", path)
                close(fd)
                throw error
            }
            offset += n
        }
        guard fsync(fd) == 0 else {
            let error = ioError("could not sync", path)
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw ioError("could not close", path) }
    }

    static func ioError(_ doing: String, _ path: String) -> KitError {
        .io("\(doing) \(path): \(String(cString: strerror(errno)))", path: path)
    }

    private static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    private static func withBytes(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(KitError) -> Void) throws(KitError) {
        // Array.withUnsafeBytes only rethrows untyped errors, so the typed error travels in a Result.
        let result = bytes.withUnsafeBytes { raw in Result { () throws(KitError) in try body(raw) } }
        try result.get()
    }
}
