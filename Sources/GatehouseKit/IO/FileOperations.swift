import Glibc
import GatehouseCrypto
import GatehouseFormat

/// Whole-file operations for small files (keys, identity cards), built on ``DurableFile``:
/// temporary file in the same folder, fsync, rename, fsync the folder. A crash never leaves a
/// half-written file under its final name.
public enum FileOperations {
    /// Creates `path` with `contents` and `mode`. Never overwrites: an existing file, or a
    /// symbolic link planted at `path`, gives `fileExists`.
    public static func createExclusively(at path: String, contents: [UInt8], mode: UInt32) throws(KitError) {
        try write(contents, to: path, mode: mode, replacing: false)
    }

    /// ``createExclusively(at:contents:mode:)`` for bytes that may be secret (key files).
    public static func createExclusively(at path: String, contents: UnsafeRawBufferPointer, mode: UInt32) throws(KitError) {
        try write(contents, to: path, mode: mode, replacing: false)
    }

    /// Creates a scratch file that is not synced (it may be lost in a crash): a copy to upload.
    public static func createScratch(at path: String, contents: [UInt8], mode: UInt32) throws(KitError) {
        try write(contents, to: path, mode: mode, replacing: false, sync: .none)
    }

    /// Replaces (or creates) `path` atomically: readers see the old file or the new one.
    /// `sync` says what is made durable here (``DurableFile/Sync``): by default the file and its
    /// folder; `.none` for a copy of what is durable elsewhere, whose folder the caller syncs.
    public static func replaceAtomically(at path: String, contents: [UInt8], mode: UInt32,
                                         sync: DurableFile.Sync = .fileAndFolder) throws(KitError) {
        try write(contents, to: path, mode: mode, replacing: true, sync: sync)
    }

    /// Replaces (or creates) `path` atomically from bytes the caller keeps (a secret in wiped storage).
    public static func replaceAtomically(at path: String, contents: UnsafeRawBufferPointer, mode: UInt32) throws(KitError) {
        try write(contents, to: path, mode: mode, replacing: true)
    }

    private static func write(_ contents: [UInt8], to path: String, mode: UInt32, replacing: Bool,
                              sync: DurableFile.Sync = .fileAndFolder) throws(KitError) {
        let result = contents.withUnsafeBytes { bytes in
            Result { () throws(KitError) in try write(bytes, to: path, mode: mode, replacing: replacing, sync: sync) }
        }
        try result.get()
    }

    private static func write(_ contents: UnsafeRawBufferPointer, to path: String, mode: UInt32, replacing: Bool,
                              sync: DurableFile.Sync = .fileAndFolder) throws(KitError) {
        do {
            let file = try DurableFile(path: path, mode: mode_t(mode))
            try file.writeAll(contents)
            try file.commit(replacing: replacing, sync: sync)
        } catch {
            if error.code == EEXIST { throw .fileExists("\(path) already exists", path: path) }
            throw kitError(error)
        }
    }

    /// `seconds` as a time for a file name: RFC 3339 UTC with dashes for colons, which are awkward
    /// in file names (scp, Windows shares): `2026-11-25T09-30-00Z`.
    public static func timeForFileName(_ seconds: UInt64) -> String {
        let text = RFC3339.format(seconds) ?? String(seconds)
        return String(decoding: text.utf8.map { $0 == UInt8(ascii: ":") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
    }

    /// Creates the folder `path` with `mode` if it does not exist; an existing folder is kept.
    /// The new entry is made durable by syncing the parent folder, unless `syncingParent` is
    /// false: the caller then syncs that folder itself, once for several changes in it.
    public static func makeDirectory(_ path: String, mode: UInt32, syncingParent: Bool = true) throws(KitError) {
        if mkdir(path, mode_t(mode)) == 0 {
            if syncingParent { try syncDirectory(of: path) }
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
        do { try DurableFile.syncFolder(DurableFile.split(path).folder) } catch { throw kitError(error) }
    }

    /// The whole of a file of at most `limit` bytes, or nil when it does not exist. Symbolic
    /// links are refused unless `followingLinks` (for files a person names on the command line).
    public static func read(at path: String, limit: Int, followingLinks: Bool = false) throws(KitError) -> [UInt8]? {
        let source: FileSource
        do { source = try FileSource(path: path, followLinks: followingLinks) } catch {
            if error.code == ENOENT { return nil }
            throw kitError(error)
        }
        guard source.size <= UInt64(limit) else { throw .invalidInput("\(path) is larger than \(limit) bytes", path: path) }
        let bytes: [UInt8]
        // One byte more than the file's size: a file that grew since is caught, and no buffer of
        // `limit` bytes is allocated and zeroed for a small file.
        do { bytes = try source.readBytes(Int(source.size) + 1) } catch { throw .io("could not read \(path): \(error)", path: path) }
        guard bytes.count <= limit else { throw .invalidInput("\(path) is larger than \(limit) bytes", path: path) }
        return bytes
    }

    /// The names in `folder` (without `.` and `..`), unsorted; nil when it cannot be opened.
    /// A name that is not UTF-8 comes back with U+FFFD in place of its bad bytes, so it names
    /// nothing: use ``listFolderEntries(_:)`` where such names must be handled.
    public static func listFolder(_ folder: String) -> [String]? {
        listFolderEntries(folder)?.map { $0.name ?? String(decoding: $0.bytes, as: UTF8.self) }
    }

    /// One name in a folder, as the file system holds it.
    public struct FolderEntry: Sendable, Hashable {
        /// The name's bytes.
        public let bytes: [UInt8]
        /// The name, or nil when its bytes are not UTF-8 (no `String` can name such a file).
        public var name: String? { String(validating: bytes, as: UTF8.self) }
    }

    /// The entries in `folder` (without `.` and `..`), unsorted; nil when it cannot be opened.
    public static func listFolderEntries(_ folder: String) -> [FolderEntry]? {
        guard let dir = opendir(folder) else { return nil }
        defer { closedir(dir) }
        var entries: [FolderEntry] = []
        while let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if bytes != [0x2E] && bytes != [0x2E, 0x2E] { entries.append(FolderEntry(bytes: bytes)) }
        }
        return entries
    }

    /// Copies everything `source` delivers into `file`, in 1 MiB pieces.
    public static func copy(_ source: FileSource, into file: DurableFile) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { break }
            try file.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// A ``KitError`` for the current `errno`.
    static func ioError(_ doing: String, _ path: String) -> KitError {
        .io("\(doing) \(path): \(String(cString: strerror(errno)))", path: path)
    }

    /// A ``KitError`` for a failed system call.
    public static func kitError(_ error: SystemError) -> KitError {
        error.foundType != nil ? .notRegularFile(error.description, path: error.path)
                               : .io(error.description, path: error.path)
    }
}
