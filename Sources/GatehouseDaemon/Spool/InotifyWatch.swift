import Foundation
import Glibc
import Synchronization

/// inotify on the outbox folder, each partner folder and each pack folder in them.
///
/// A thread of its own waits on the inotify descriptor and queues what it reads, raising
/// ``changed`` at once: a record renamed in is seen within microseconds, and nothing polls.
final class InotifyWatch: Sendable {
    /// One change seen by the kernel.
    struct Change {
        /// The path changed; for a name that is not UTF-8, the folder holding it.
        let path: String
        /// What the event says about writers (renamed in, written, closed after writing).
        let seen: OutboxScanner.Seen
        /// The name is not UTF-8, so no `String` path can name it: look at the folder's bytes.
        var undecodableName = false
    }

    private let fd: Int32
    private let root: String
    private let folders = Mutex<[Int32: String]>([:])
    private let queued = Mutex<(changes: [Change], overflowed: Bool, truncated: Bool, stopped: Bool)>(([], false, false, false))
    /// Changes held at most, like the kernel's own queue (16,384 events by default): claiming a
    /// backlog of 100,000 files raises 100,000 events, and a rescan is cheaper than holding them.
    static let defaultMaxQueued = 16_384
    let maxQueued: Int
    /// Raised whenever changes are queued.
    let changed = Wakeup()

    init(root: String, maxQueued: Int = InotifyWatch.defaultMaxQueued) throws {
        self.maxQueued = maxQueued
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw InotifyError(message: "inotify_init1 failed: \(String(cString: strerror(errno)))") }
        self.root = root
        add(root, mask: UInt32(IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_ONLYDIR))
    }

    deinit { close(fd) }

    /// Starts the thread that reads events as they come; ``stop()`` ends it (within half a second).
    func start() {
        let thread = Thread { [self] in readLoop() }
        thread.name = "gatehouse-inotify"
        thread.start()
    }

    func stop() { queued.withLock { $0.stopped = true } }

    private func readLoop() {
        while !queued.withLock({ $0.stopped }) {
            var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&request, 1, 500) > 0 else { continue }
            let (changes, overflowed) = read()
            guard !changes.isEmpty || overflowed else { continue }
            queued.withLock {
                $0.changes += changes
                if $0.changes.count > maxQueued {
                    // Past the cap, events that only say a path went away or changed attributes
                    // (the claim's own moves, mostly) go first: the rescan this forces finds
                    // those anyway, while a record renamed in stays claimed at once.
                    $0.changes.removeAll { if case .scanned = $0.seen { true } else { false } }
                    $0.truncated = true
                    if $0.changes.count > maxQueued { $0.changes = [] }
                }
                $0.overflowed = $0.overflowed || overflowed
            }
            changed.raise()
        }
    }

    /// Every change queued so far, whether the kernel queue overflowed (events were lost), and
    /// whether more than ``maxQueued`` changes came in (all were dropped): either way, rescan.
    func drain() -> (changes: [Change], overflowed: Bool, truncated: Bool) {
        queued.withLock { state in
            defer {
                state.changes = []
                state.overflowed = false
                state.truncated = false
            }
            return (state.changes, state.overflowed, state.truncated)
        }
    }

    /// What ``drain()`` would return, left queued (for tests that wait for events to arrive).
    func peek() -> (changes: [Change], truncated: Bool) { queued.withLock { ($0.changes, $0.truncated) } }

    /// Watches a partner or pack folder for files written, renamed in or removed. (Watching a
    /// folder already watched changes nothing.) A folder moved away, as a claimed pack is, stops
    /// being watched.
    func watchPartner(_ path: String) {
        add(path, mask: UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM
                                | IN_ATTRIB | IN_MOVE_SELF | IN_ONLYDIR))
    }

    private func add(_ path: String, mask: UInt32) {
        let wd = inotify_add_watch(fd, path, mask)
        if wd >= 0 { folders.withLock { $0[wd] = path } }
    }

    /// Reads every event the kernel holds (the descriptor does not block).
    private func read() -> (changes: [Change], overflowed: Bool) {
        var changes: [Change] = []
        var overflowed = false
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<inotify_event>.alignment)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer, size)
            guard n > 0 else { break }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            // Each record is a fixed header followed by `len` bytes of NUL-padded name.
            while offset + header <= n {
                let event = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                let nameLength = Int(event.len)
                guard offset + header + nameLength <= n else { break }
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 { overflowed = true }
                // Moved away: its path names something else now. The kernel then says IGNORED.
                if event.mask & UInt32(IN_MOVE_SELF) != 0 { inotify_rm_watch(fd, event.wd) }
                if event.mask & UInt32(IN_IGNORED) != 0 { _ = folders.withLock { $0.removeValue(forKey: event.wd) } }
                if nameLength > 0, let folder = folders.withLock({ $0[event.wd] }) {
                    let field = UnsafeRawBufferPointer(start: buffer.advanced(by: offset + header), count: nameLength)
                    let bytes = field.prefix { $0 != 0 }
                    if let name = String(validating: bytes, as: UTF8.self) {
                        changes.append(Change(path: "\(folder)/\(name)", seen: Self.seen(event.mask)))
                    } else {
                        changes.append(Change(path: folder, seen: .scanned, undecodableName: true))
                    }
                }
                offset += header + nameLength
            }
        }
        return (changes, overflowed)
    }
}

extension InotifyWatch {
    /// What an event says about writers: IN_MOVED_TO (renamed in, complete), IN_CLOSE_WRITE (a
    /// writer closed it), IN_CREATE or IN_MODIFY (a writer has it open).
    static func seen(_ mask: UInt32) -> OutboxScanner.Seen {
        if mask & UInt32(IN_MOVED_TO) != 0 { return .renamedIn }
        if mask & UInt32(IN_CLOSE_WRITE) != 0 { return .closedAfterWriting }
        if mask & UInt32(IN_CREATE | IN_MODIFY) != 0 { return .written }
        return .scanned
    }
}

struct InotifyError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
