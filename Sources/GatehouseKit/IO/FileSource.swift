import Glibc
public import GatehouseFormat

/// Reads a regular file through a file descriptor, closing it when done.
public final class FileSource: ByteSource {
    /// The path being read, for messages.
    public let path: String
    /// The file's size when it was opened.
    public let size: UInt64
    private let fd: Int32

    /// Opens `path` for reading. Refuses anything but a regular file, and links when
    /// `followLinks` is false.
    public init(path: String, followLinks: Bool = true) throws(SystemError) {
        let flags = O_RDONLY | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW)
        let fd = open(path, flags)
        guard fd >= 0 else { throw SystemError("opening", path) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let error = SystemError("inspecting", path)
            close(fd)
            throw error
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            // Only regular files have a size that a bundle can declare up front.
            throw SystemError("reading (not a regular file)", path, code: info.st_mode & S_IFMT == S_IFDIR ? EISDIR : EINVAL)
        }
        self.fd = fd
        self.path = path
        self.size = UInt64(info.st_size)
        // Sequential reads: let the kernel read ahead aggressively.
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    deinit { close(fd) }

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
