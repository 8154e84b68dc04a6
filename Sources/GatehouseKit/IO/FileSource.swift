import Glibc
public import GatehouseFormat

/// Reads a regular file through a file descriptor, closing it when done.
///
/// The file is opened once and everything is checked on that descriptor (`fstat`), never by
/// looking at the path again: what is checked is what is read.
public final class FileSource: ByteSource {
    /// The path being read, for messages.
    public let path: String
    /// What `fstat` said when the file was opened.
    public let status: FileStatus
    /// The file's size when it was opened.
    public var size: UInt64 { status.size }
    let fd: Int32

    /// Opens `path` for reading. Refuses anything but a regular file, and links when
    /// `followLinks` is false (a link a person named on the command line is followed, and what
    /// it leads to must be a regular file).
    public convenience init(path: String, followLinks: Bool = true) throws(SystemError) {
        // Look before opening: opening a device can have side effects (a tape rewinds), and a
        // FIFO, socket or folder is never read. The descriptor's own fstat below decides.
        var seen = stat()
        guard (followLinks ? stat(path, &seen) : lstat(path, &seen)) == 0 else { throw SystemError("opening", path) }
        guard FileType(mode: seen.st_mode) == .regular else { throw .notRegular(path, FileType(mode: seen.st_mode)) }
        // O_NONBLOCK: a path swapped for a FIFO after the look above opens at once instead of
        // waiting for a writer for ever (it is then refused by fstat); regular files ignore it.
        // O_NOFOLLOW: a link swapped in is refused by the kernel, not followed.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (followLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else {
            if errno == ELOOP && !followLinks { throw .notRegular(path, .symbolicLink) }
            throw SystemError("opening", path)
        }
        try self.init(descriptor: fd, path: path)
    }

    /// Opens the entry `name` of `folder` relative to its descriptor, never following a link
    /// (the same checks as `init(path:followLinks: false)`, with no path looked up again).
    public convenience init(in folder: FolderHandle, name: String) throws(SystemError) {
        let path = "\(folder.path)/\(name)"
        var seen = stat()
        guard fstatat(folder.fd, name, &seen, AT_SYMLINK_NOFOLLOW) == 0 else { throw SystemError("opening", path) }
        guard FileType(mode: seen.st_mode) == .regular else { throw .notRegular(path, FileType(mode: seen.st_mode)) }
        let fd = openat(folder.fd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ELOOP { throw .notRegular(path, .symbolicLink) }
            throw SystemError("opening", path)
        }
        try self.init(descriptor: fd, path: path)
    }

    /// Takes `fd` (closed on failure) and checks, on it, that it is a regular file.
    private init(descriptor fd: Int32, path: String) throws(SystemError) {
        let status: FileStatus
        do { status = try FileStatus.of(descriptor: fd, path: path) } catch {
            close(fd)
            throw error
        }
        guard status.type == .regular else {
            close(fd)
            // Only regular files have a size that a bundle can declare up front.
            throw .notRegular(path, status.type)
        }
        self.fd = fd
        self.path = path
        self.status = status
        // Sequential reads: let the kernel read ahead aggressively.
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    deinit { close(fd) }

    /// What `fstat` says now (to tell whether the file changed while it was read).
    public func currentStatus() throws(SystemError) -> FileStatus { try FileStatus.of(descriptor: fd, path: path) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SystemError("reading", path)
        }
    }

    /// Starts reading again from the beginning (for the second pass of opening).
    public func rewind() throws(SystemError) {
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw SystemError("rewinding", path) }
    }
}

extension FileSource: RewindableByteSource {
    /// Starts reading again from the beginning (for a second pass of opening).
    public func rewindToStart() throws { try rewind() }
}
