import Glibc

/// A folder's names read a slice at a time with readdir(3), so that a partner folder holding
/// 100,000 waiting records is never listed whole into memory.
///
/// Entries removed after they were returned (claimed records moved to the work folder) do not
/// disturb the rest of the listing; one added meanwhile may or may not be returned (POSIX), and
/// is seen through inotify or the next rescan.
final class FolderStream {
    private let dir: OpaquePointer

    /// Opens `path`; nil when it cannot be opened (gone, or not a folder).
    init?(_ path: String) {
        guard let dir = opendir(path) else { return nil }
        self.dir = dir
    }

    deinit { closedir(dir) }

    /// Up to `count` more names' bytes (without `.` and `..`); empty at the end.
    func next(_ count: Int) -> [[UInt8]] {
        var names: [[UInt8]] = []
        while names.count < count, let entry = readdir(dir) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if bytes != [0x2E] && bytes != [0x2E, 0x2E] { names.append(bytes) }
        }
        return names
    }
}
