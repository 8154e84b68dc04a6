/// A record found in the outbox, complete and ready to claim: a file, or a pack (a folder of
/// files that travel together in one bundle, never split and never joined with others).
public struct OutboxFile: Sendable, Hashable {
    /// The partner folder's name (validated as an ODS code by the claimer).
    public let partner: String
    /// Full path.
    public let path: String
    /// The file's (or the pack folder's) name.
    public let name: String
    /// Size when it was judged complete (for a pack, of all its entries).
    public let size: UInt64
    /// A pack folder rather than a file.
    public let isPack: Bool

    /// A file (or, with `isPack`, a pack folder) in `outbox/<partner>/`.
    public init(partner: String, path: String, name: String, size: UInt64, isPack: Bool = false) {
        self.partner = partner
        self.path = path
        self.name = name
        self.size = size
        self.isPack = isPack
    }
}

/// Decides when an outbox file is complete, as a value with no I/O (tested without sleeping).
///
/// A close event does not mean a file is complete. A file renamed in is complete at once
/// (producers write `name.part` or a dot-file and rename); any other file is complete once its
/// size and modification time have not changed for `stableWindow` (at once if its modification
/// time is already that old when it is first seen) **and** inotify has not seen it written
/// since its last `IN_CLOSE_WRITE`: a writer that pauses for longer than the window is still
/// writing. (The claim then asks the kernel whether anyone has it open for writing; this is the
/// defence when the kernel cannot tell, see `OpenWriterCheck`.) Because a hard link made into the
/// outbox is seen created but never closed, and events are lost when the kernel's queue
/// overflows, a file seen written is held at most `writerHold` after its last change.
/// A folder in a partner folder is a pack, judged the same way as a whole: the watcher reports
/// its entries' total size and newest modification time, and changes inside it as changes of
/// the pack (see `SpoolWatcher`).
/// `.part` files and dot-files are ignored; anything else that is not a regular file is refused. A
/// path is handed out once, and again only after it disappeared, after an `IN_CLOSE_WRITE` (its
/// claim found it still open for writing), or if it is still there `reofferAfter` later (its
/// claim failed, e.g. on a full disk).
public struct OutboxScanner: Sendable {
    /// What a path is. A `directory` in a partner folder is a pack: the `size` and `mtime` given
    /// with it are those of its entries together.
    public enum Kind: Sendable { case regular, symlink, directory, other }

    /// How a path came to be looked at.
    public enum Seen: Sendable {
        /// A scan, or an event that says nothing about writers.
        case scanned
        /// Renamed in (`IN_MOVED_TO`): complete at once.
        case renamedIn
        /// Created or written (`IN_CREATE`, `IN_MODIFY`): a writer has it open.
        case written
        /// A writer closed it (`IN_CLOSE_WRITE`).
        case closedAfterWriting
    }

    /// What to do.
    public enum Action: Sendable, Equatable {
        /// Hand the file to the claimer.
        case claim(OutboxFile)
        /// Refuse the path (move it to failed/) with the reason.
        case refuse(path: String, partner: String?, reason: String)

        /// The path it concerns.
        public var path: String {
            switch self {
            case .claim(let file): file.path
            case .refuse(let path, _, _): path
            }
        }
    }

    struct Pending: Sendable {
        var size: UInt64
        var mtime: Int64
        var lastChange: Int64
        let partner: String
        let name: String
        /// Seen written and not closed since.
        var writing: Bool
        let isPack: Bool
    }

    let stableWindow: Int64
    let reofferAfter: Int64
    let writerHold: Int64
    var pending: [String: Pending] = [:]
    var handedOut: [String: Int64] = [:]

    /// A scanner with a stable window, a re-offer delay and the longest hold of a file seen
    /// written but never closed, in milliseconds.
    public init(stableWindowMilliseconds: Int64, reofferAfterMilliseconds: Int64,
                writerHoldMilliseconds: Int64 = 600_000) {
        stableWindow = stableWindowMilliseconds
        reofferAfter = reofferAfterMilliseconds
        writerHold = max(writerHoldMilliseconds, stableWindowMilliseconds)
    }

    /// True for names that are never records: transfers in progress and hidden files.
    public static func isIgnored(_ name: String) -> Bool { isIgnored(name.utf8) }

    /// ``isIgnored(_:)`` for a name's bytes (which need not be UTF-8).
    public static func isIgnored(_ name: some BidirectionalCollection<UInt8>) -> Bool {
        name.first == UInt8(ascii: ".") || name.suffix(5).elementsEqual(".part".utf8)
    }

    /// Reports what was seen at `path` (in partner folder `partner`, or nil for the outbox root):
    /// a file renamed in is claimed at once, refusals are immediate; other files become due in
    /// ``due(now:)`` once stable and not being written.
    public mutating func observe(path: String, partner: String?, name: String, kind: Kind, size: UInt64, mtime: Int64,
                                 seen: Seen, now: Int64) -> [Action] {
        guard !Self.isIgnored(name) else { return [] }
        if let given = handedOut[path] {
            // Closed by its writer: a claim that found it still open may succeed now.
            guard now - given >= reofferAfter || seen == .closedAfterWriting else { return [] }
            handedOut[path] = nil
        }
        guard let partner else {
            handedOut[path] = now
            return [.refuse(path: path, partner: nil, reason: "records go in outbox/<ODS>/, one folder per recipient, not in outbox/ itself")]
        }
        switch kind {
        case .regular, .directory: break
        case .symlink:
            handedOut[path] = now
            return [.refuse(path: path, partner: partner,
                            reason: "a symbolic link; only regular files and pack folders are sent")]
        case .other:
            handedOut[path] = now
            return [.refuse(path: path, partner: partner,
                            reason: "not a regular file; only regular files and pack folders are sent")]
        }
        let isPack = kind == .directory
        if seen == .renamedIn {
            pending[path] = nil
            handedOut[path] = now
            return [.claim(OutboxFile(partner: partner, path: path, name: name, size: size, isPack: isPack))]
        }
        if var known = pending[path] {
            if known.size != size || known.mtime != mtime || seen == .written {
                known.size = size
                known.mtime = mtime
                known.lastChange = now
            }
            if seen == .written || seen == .closedAfterWriting { known.writing = seen == .written }
            pending[path] = known
        } else {
            // A file first seen with a modification time already a stable window old has not been
            // written in that window: stable now (files waiting when the gateway starts).
            let lastChange = mtime <= now - stableWindow && seen != .written ? now - stableWindow : now
            pending[path] = Pending(size: size, mtime: mtime, lastChange: lastChange, partner: partner, name: name,
                                    writing: seen == .written, isPack: isPack)
        }
        // Stable files are collected by due(now:), once per pass: checking every pending file
        // here made a scan of 100,000 waiting files quadratic.
        return []
    }

    /// The path is gone (deleted, moved away, claimed).
    public mutating func vanished(_ path: String) {
        pending[path] = nil
        handedOut[path] = nil
    }

    /// Files whose size has been stable for the window, and that no writer holds open as far
    /// as inotify has seen (for at most `writerHold`); at most `limit` of them (the rest on the
    /// next call), so a backlog is handed out, and held in memory, a slice at a time.
    public mutating func due(now: Int64, limit: Int = .max) -> [Action] {
        var ready: [String] = []
        // Collected first, removed after: removing while iterating copied the whole dictionary
        // (21 MB with 100,000 files waiting).
        for (path, file) in pending where now - file.lastChange >= (file.writing ? writerHold : stableWindow) {
            ready.append(path)
            if ready.count == limit { break }
        }
        var actions: [Action] = []
        actions.reserveCapacity(ready.count)
        for path in ready.sorted() {
            guard let file = pending.removeValue(forKey: path) else { continue }
            handedOut[path] = now
            actions.append(.claim(OutboxFile(partner: file.partner, path: path, name: file.name, size: file.size,
                                             isPack: file.isPack)))
        }
        return actions
    }

    /// When a pending file could next become stable.
    public func nextCheck() -> Int64? {
        pending.values.map { $0.lastChange + ($0.writing ? writerHold : stableWindow) }.min()
    }

    /// True the first time a path is to be refused by the watcher itself (a name that is not
    /// UTF-8), and again only `reofferAfter` later (its move failed); `key` names it.
    public mutating func firstRefusal(of key: String, now: Int64) -> Bool {
        if let given = handedOut[key], now - given < reofferAfter { return false }
        handedOut[key] = now
        return true
    }

    /// Forgets every path not in `present` (after a full rescan).
    public mutating func keepOnly(_ present: Set<String>) {
        forget { !present.contains($0) }
    }

    /// Forgets every path for which `isGone` holds (after a full rescan: those no longer there).
    /// Costs what the scanner tracks, not what the folders hold.
    public mutating func forget(where isGone: (String) -> Bool) {
        for path in Array(pending.keys) where isGone(path) { pending[path] = nil }
        for path in Array(handedOut.keys) where isGone(path) { handedOut[path] = nil }
    }

    /// How many paths are tracked (pending or handed out), for tests of what a backlog holds.
    public var tracked: Int { pending.count + handedOut.count }
}
