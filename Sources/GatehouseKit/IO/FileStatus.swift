import Glibc

/// What kind of file system object a path or descriptor is.
public enum FileType: Sendable, Hashable {
    case regular, directory, symbolicLink, fifo, socket, characterDevice, blockDevice, unknown

    /// The type in `st_mode`.
    public init(mode: mode_t) {
        self = switch mode & S_IFMT {
        case S_IFREG: .regular
        case S_IFDIR: .directory
        case S_IFLNK: .symbolicLink
        case S_IFIFO: .fifo
        case S_IFSOCK: .socket
        case S_IFCHR: .characterDevice
        case S_IFBLK: .blockDevice
        default: .unknown
        }
    }

    /// The type in words, with its article, for messages: "a FIFO", "a folder".
    public var phrase: String {
        switch self {
        case .regular: "a regular file"
        case .directory: "a folder"
        case .symbolicLink: "a symbolic link"
        case .fifo: "a FIFO"
        case .socket: "a socket"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .unknown: "a special file"
        }
    }
}

/// What `fstat` says about an open file: which file it is and enough to tell whether its
/// contents changed (size, modification time and status-change time, in nanoseconds).
public struct FileStatus: Sendable, Hashable {
    /// The device holding the file.
    public let device: UInt64
    /// The inode number on that device.
    public let inode: UInt64
    /// Regular file, FIFO, …
    public let type: FileType
    /// How many names (hard links) the file has.
    public let linkCount: UInt64
    /// Size in bytes.
    public let size: UInt64
    /// Last modification of the contents (ns since 1970).
    public let modified: Int64
    /// Last status change (ns since 1970): writes, truncation, links, renames and `utimes` all
    /// move it, and no caller can set it back (unlike `modified`).
    public let changed: Int64

    /// The status in `info`.
    public init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        type = FileType(mode: info.st_mode)
        linkCount = UInt64(info.st_nlink)
        size = UInt64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
    }

    /// The status of the open descriptor `fd`.
    public static func of(descriptor fd: Int32, path: String) throws(SystemError) -> FileStatus {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemError("inspecting", path) }
        return FileStatus(info)
    }

    /// True when `later` is the same file with the same size, modification and change times:
    /// nothing wrote to it, truncated it or linked it in between.
    public func isUnchanged(at later: FileStatus) -> Bool {
        device == later.device && inode == later.inode && size == later.size && modified == later.modified
            && changed == later.changed && linkCount == later.linkCount
    }
}
