import Glibc
import CSystemShims
import GatehouseCrypto
public import GatehouseFormat

/// A new file written under a temporary name in its final folder, then made durable and
/// published under its final name without ever replacing an existing file:
/// write, fsync the file, rename (no-replace), fsync the folder. An error at any step
/// removes the temporary file; an fsync error is fatal for the file.
public final class DurableFile: ByteSink {
    /// The final path.
    public let path: String
    /// The temporary path written until ``commit()``.
    public let temporaryPath: String
    private var fd: Int32
    /// Allocated on the first buffered write: files written with `writeAll` never need it.
    private var buffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private static let bufferSize = 1 << 20
    private var buffered = 0
    private var highWater = 0
    private var written: Int64 = 0
    private var writebackStarted: Int64 = 0
    /// Bytes between writeback starts: large bundles reach the disk while they are being
    /// produced, so the final fsync does not stall for the whole file.
    static let writebackInterval: Int64 = 8 << 20
    private var committed = false
    /// Called with the number of bytes written to the file so far, after each write reaches it
    /// (readable by another descriptor): a bundle uploaded while it is sealed follows it.
    public var onWritten: ((UInt64) -> Void)?

    /// Creates the temporary file exclusively with `mode` beside `path`; with `access`, its
    /// group and mode are set on the descriptor before a byte is written.
    public init(path: String, mode: mode_t = 0o600, access: PublishAccess = .private) throws(SystemError) {
        self.path = path
        temporaryPath = Self.temporaryName(beside: path)
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, access.group == nil ? mode : 0o600)
        guard fd >= 0 else { throw SystemError("creating", temporaryPath) }
        do { try access.apply(toDescriptor: fd, folder: false, path: temporaryPath) } catch {
            close(fd)
            fd = -1
            unlink(temporaryPath)
            throw error
        }
    }

    deinit {
        // Small files may be secret keys: leave nothing behind in freed memory.
        if buffer.baseAddress != nil {
            wipe(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<highWater]))
            buffer.deallocate()
        }
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryPath) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        // Coalesce small writes into 1 MiB system calls.
        if bytes.count >= Self.bufferSize { return try writeAll(bytes) }
        if buffer.baseAddress == nil { buffer = .allocate(byteCount: Self.bufferSize, alignment: 16) }
        if buffered + bytes.count > buffer.count { try flush() }
        UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<(buffered + bytes.count)]).copyMemory(from: bytes)
        buffered += bytes.count
        highWater = max(highWater, buffered)
    }

    private func flush() throws(SystemError) {
        guard buffered > 0 else { return }
        try writeDirect(UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]))
        buffered = 0
    }

    /// Writes all of `bytes` straight to the file, unbuffered.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        try flush()
        try writeDirect(bytes)
    }

    private func writeDirect(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("writing", temporaryPath)
            }
            offset += n
        }
        written += Int64(bytes.count)
        onWritten?(UInt64(written))
        if written - writebackStarted >= Self.writebackInterval {
            // Best effort: an error here changes nothing, fsync in commit() still decides.
            _ = gatehouse_start_writeback(fd, writebackStarted, written - writebackStarted)
            writebackStarted = written
        }
    }

    /// Flushes, fsyncs and publishes the file under its final name. Fails with `EEXIST` if that
    /// name exists, unless `replacing`, when the old file is replaced atomically.
    ///
    /// `sync` says what is synced here: by default the file and its folder. `.file` leaves the
    /// folder to the caller (several files in one folder, synced once); `.none` leaves both (a
    /// scratch copy, or a caller that syncs the whole file system with ``syncFileSystem(of:)``).
    public func commit(replacing: Bool = false, sync: Sync = .fileAndFolder) throws(SystemError) {
        try flush()
        guard sync == .none || fsync(fd) == 0 else { throw SystemError("syncing", temporaryPath) }
        if sync != .none { SyncRecorder.note(path) }
        guard close(fd) == 0 else { fd = -1; throw SystemError("closing", temporaryPath) }
        fd = -1
        if replacing {
            guard rename(temporaryPath, path) == 0 else { throw SystemError("renaming \(temporaryPath) to", path) }
        } else {
            try DurableFile.renameNoReplace(temporaryPath, path)
        }
        committed = true
        if sync == .fileAndFolder { try DurableFile.syncFolder(Self.split(path).folder) }
    }

    /// What ``commit(replacing:sync:)`` syncs.
    public enum Sync: Sendable {
        /// The file, then its folder (the rename): durable on return.
        case fileAndFolder
        /// The file only; the caller syncs the folder.
        case file
        /// Nothing; the caller syncs, or the file is a scratch copy that may be lost in a crash.
        case none
    }

    /// Abandons the file: the temporary name is removed, nothing is published.
    public func discard() {
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
    }

    /// Renames without replacing an existing target (files or folders).
    public static func renameNoReplace(_ from: String, _ to: String) throws(SystemError) {
        if gatehouse_rename_noreplace(from, to) == 0 { return }
        guard errno == EINVAL || errno == ENOSYS else { throw SystemError("publishing", to) }
        // File systems without RENAME_NOREPLACE: link(2) refuses to replace, then drop the old name.
        guard link(from, to) == 0 else { throw SystemError("publishing", to) }
        unlink(from)
    }

    /// fsyncs a folder so a rename or creation in it survives a crash.
    public static func syncFolder(_ folder: String) throws(SystemError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("opening folder", folder) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SystemError("syncing folder", folder) }
        SyncRecorder.note(folder)
    }

    /// Writes out everything pending on the file system holding `folder` (syncfs(2)): one
    /// journal commit for many files written with deferred syncs.
    public static func syncFileSystem(of folder: String) throws(SystemError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("opening folder", folder) }
        defer { close(fd) }
        guard gatehouse_syncfs(fd) == 0 else { throw SystemError("syncing the file system of", folder) }
        SyncRecorder.note("syncfs " + folder)
    }

    /// A new temporary name in the folder of `path`: `.tmp-` and 24 random hex digits.
    ///
    /// Its length never depends on the final name: a name of 255 bytes (the most a file system
    /// and FORMAT.md §3.7 allow) must still have a temporary name. It starts with a dot, which no
    /// record name may (§3.7), so the outbox watcher ignores it and it never collides with one.
    public static func temporaryName(beside path: String) -> String {
        "\(split(path).folder)/\(temporaryPrefix)\(randomBytes(12).hexString)"
    }

    /// How every temporary name starts.
    public static let temporaryPrefix = ".tmp-"

    /// Splits a path into folder (`.` when none) and last component.
    public static func split(_ path: String) -> (folder: String, name: String) {
        // The last '/' byte, not Character: in "folder/\u{301}abc" the slash and the combining
        // mark are one Character, and the name would be cut at an earlier slash.
        let bytes = path.utf8
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let folder = String(Substring(bytes[..<slash]))
        return (folder.isEmpty ? "/" : folder, String(Substring(bytes[bytes.index(after: slash)...])))
    }
}
