import Glibc
import Synchronization

/// inotify on the outbox folder and each partner folder, read without blocking.
final class InotifyWatch: Sendable {
    /// One change seen by the kernel.
    struct Change {
        let path: String
        /// Arrived by rename (IN_MOVED_TO): complete at once.
        let renamedIn: Bool
    }

    private let fd: Int32
    private let root: String
    private let folders = Mutex<[Int32: String]>([:])

    init(root: String) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw InotifyError(message: "inotify_init1 failed: \(String(cString: strerror(errno)))") }
        self.root = root
        add(root, mask: UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR))
    }

    deinit { close(fd) }

    /// Watches a partner folder for files written, renamed in or removed.
    func watchPartner(_ path: String) {
        add(path, mask: UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB | IN_ONLYDIR))
    }

    private func add(_ path: String, mask: UInt32) {
        let wd = inotify_add_watch(fd, path, mask)
        if wd >= 0 { folders.withLock { $0[wd] = path } }
    }

    /// Every change queued so far, and whether the kernel queue overflowed (events were lost).
    func drain() -> (changes: [Change], overflowed: Bool) {
        var changes: [Change] = []
        var overflowed = false
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer, size)
            guard n > 0 else { break }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            // Each record is a fixed header followed by `len` bytes of NUL-padded name.
            while offset + header <= n {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameLength = Int(event.len)
                guard offset + header + nameLength <= n else { break }
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { overflowed = true }
                if nameLength > 0, let folder = folders.withLock({ $0[event.wd] }) {
                    let name = String(cString: buffer.advanced(by: offset + header).assumingMemoryBound(to: CChar.self))
                    changes.append(Change(path: "\(folder)/\(name)", renamedIn: event.mask & UInt32(IN_MOVED_TO) != 0))
                }
                offset += header + nameLength
            }
        }
        return (changes, overflowed)
    }
}

struct InotifyError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
