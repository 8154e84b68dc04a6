import Glibc

/// A folder opened once, without following a link, and used only through its descriptor: its
/// entries are listed, judged and opened relative to it (`fstatat`, `openat`, `unlinkat`).
///
/// For folders that others can write: a pack folder dropped into the outbox stays writable by
/// its producer after it is claimed (through a descriptor or working directory it kept), so any
/// path through it may turn into a link at any moment. Relative to a descriptor opened with
/// `O_NOFOLLOW | O_DIRECTORY`, no swapped link is ever followed.
public final class FolderHandle {
    /// The folder's path, for messages.
    public let path: String
    /// What `fstat` said of the folder when it was opened.
    public let status: FileStatus
    let fd: Int32

    /// One entry: its name's bytes and what it is (`lstat`, never following a link).
    public struct Entry: Sendable, Hashable {
        /// The name's bytes.
        public let bytes: [UInt8]
        /// The name, or nil when its bytes are not UTF-8.
        public var name: String? { String(validating: bytes, as: UTF8.self) }
        /// What it is.
        public let type: FileType
        /// Its size in bytes.
        public let size: UInt64
        /// Its modification time (ns since 1970).
        public let modified: Int64
    }

    /// Opens `path`, which must be a folder and not a link (`notRegular` with what it is instead).
    public init(path: String) throws(SystemError) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            var info = stat()
            // ELOOP: a link; ENOTDIR: a file, FIFO, …: say what it is.
            if code == ELOOP || code == ENOTDIR, lstat(path, &info) == 0 {
                throw .notRegular(path, FileType(mode: info.st_mode))
            }
            throw SystemError("opening folder", path, code: code)
        }
        do { status = try FileStatus.of(descriptor: fd, path: path) } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Every entry (without `.` and `..`), in byte order of their names.
    public func entries() throws(SystemError) -> [Entry] {
        // fdopendir takes the descriptor it is given: hand it a copy, positioned at the start.
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw SystemError("listing", path)
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var entries: [Entry] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard bytes != [0x2E], bytes != [0x2E, 0x2E] else { continue }
            var info = stat()
            let found = (bytes + [0]).withUnsafeBufferPointer { name in
                name.withMemoryRebound(to: CChar.self) { fstatat(fd, $0.baseAddress!, &info, AT_SYMLINK_NOFOLLOW) }
            }
            // Removed between readdir and fstatat: it is not there.
            guard found == 0 else { continue }
            let status = FileStatus(info)
            entries.append(Entry(bytes: bytes, type: status.type, size: status.size, modified: status.modified))
        }
        return entries.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }

    /// Opens the regular file `name` in this folder for reading (see ``FileSource``).
    public func open(_ name: String) throws(SystemError) -> FileSource { try FileSource(in: self, name: name) }

    /// Removes everything in this folder, folders inside included, through descriptors only:
    /// a link swapped in anywhere is removed itself, never followed. The folder itself stays
    /// (its parent removes it by name). Returns false when something could not be removed,
    /// including anything nested deeper than ``maxDepth`` (whoever can write the folder could
    /// nest folders until the stack or the descriptors ran out).
    @discardableResult
    public func removeContents(depth: Int = 0) -> Bool {
        guard depth < Self.maxDepth, let entries = try? entries() else { return false }
        var removed = true
        for entry in entries {
            let ok = (entry.bytes + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { name -> Bool in
                    if entry.type == .directory {
                        let inner = openat(fd, name.baseAddress!, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                        guard inner >= 0, let folder = try? FolderHandle(descriptor: inner, path: "\(path)/…") else {
                            return false
                        }
                        folder.removeContents(depth: depth + 1)
                        return unlinkat(fd, name.baseAddress!, AT_REMOVEDIR) == 0
                    }
                    return unlinkat(fd, name.baseAddress!, 0) == 0
                }
            }
            removed = removed && ok
        }
        return removed
    }

    /// How deep ``removeContents(depth:)`` goes.
    public static let maxDepth = 16

    private init(descriptor: Int32, path: String) throws(SystemError) {
        do { status = try FileStatus.of(descriptor: descriptor, path: path) } catch {
            close(descriptor)
            throw error
        }
        fd = descriptor
        self.path = path
    }
}
