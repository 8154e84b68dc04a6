/// A file found in the outbox, complete and ready to claim.
public struct OutboxFile: Sendable, Hashable {
    /// The partner folder's name (validated as an ODS code by the claimer).
    public let partner: String
    /// Full path.
    public let path: String
    /// The file's name.
    public let name: String
    /// Size when it was judged complete.
    public let size: UInt64

    /// A file in `outbox/<partner>/`.
    public init(partner: String, path: String, name: String, size: UInt64) {
        self.partner = partner
        self.path = path
        self.name = name
        self.size = size
    }
}

/// Decides when an outbox file is complete, as a value with no I/O (tested without sleeping).
///
/// A close event does not mean a file is complete. A file renamed in is complete at once
/// (producers write `name.part` or a dot-file and rename); any other file is complete once its
/// size and modification time have not changed for `stableWindow` (at once if its modification
/// time is already that old when it is first seen). `.part` files and dot-files
/// are ignored; anything that is not a regular file is refused. A path is handed out once, and
/// again only after it disappeared, or if it is still there `reofferAfter` later (its claim
/// failed, e.g. on a full disk).
public struct OutboxScanner: Sendable {
    /// What a path is.
    public enum Kind: Sendable { case regular, symlink, directory, other }

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
    }

    let stableWindow: Int64
    let reofferAfter: Int64
    var pending: [String: Pending] = [:]
    var handedOut: [String: Int64] = [:]

    /// A scanner with a stable window and a re-offer delay, in milliseconds.
    public init(stableWindowMilliseconds: Int64, reofferAfterMilliseconds: Int64) {
        stableWindow = stableWindowMilliseconds
        reofferAfter = reofferAfterMilliseconds
    }

    /// True for names that are never records: transfers in progress and hidden files.
    public static func isIgnored(_ name: String) -> Bool { name.utf8.first == UInt8(ascii: ".") || name.hasSuffix(".part") }

    /// Reports what was seen at `path` (in partner folder `partner`, or nil for the outbox root):
    /// a file renamed in is claimed at once, refusals are immediate; other files become due in
    /// ``due(now:)`` once stable.
    public mutating func observe(path: String, partner: String?, name: String, kind: Kind, size: UInt64, mtime: Int64,
                                 renamedIn: Bool, now: Int64) -> [Action] {
        guard !Self.isIgnored(name) else { return [] }
        if let given = handedOut[path] {
            guard now - given >= reofferAfter else { return [] }
            handedOut[path] = nil
        }
        guard let partner else {
            handedOut[path] = now
            return [.refuse(path: path, partner: nil, reason: "records go in outbox/<ODS>/, one folder per recipient, not in outbox/ itself")]
        }
        switch kind {
        case .regular: break
        case .symlink:
            handedOut[path] = now
            return [.refuse(path: path, partner: partner, reason: "a symbolic link; only regular files are sent")]
        case .directory, .other:
            handedOut[path] = now
            return [.refuse(path: path, partner: partner, reason: "not a regular file; only regular files are sent")]
        }
        if renamedIn {
            pending[path] = nil
            handedOut[path] = now
            return [.claim(OutboxFile(partner: partner, path: path, name: name, size: size))]
        }
        if var known = pending[path] {
            if known.size != size || known.mtime != mtime {
                known.size = size
                known.mtime = mtime
                known.lastChange = now
            }
            pending[path] = known
        } else {
            // A file first seen with a modification time already a stable window old has not been
            // written in that window: stable now (files waiting when the gateway starts).
            let lastChange = mtime <= now - stableWindow ? now - stableWindow : now
            pending[path] = Pending(size: size, mtime: mtime, lastChange: lastChange, partner: partner, name: name)
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

    /// Files whose size has been stable for the window.
    public mutating func due(now: Int64) -> [Action] {
        var actions: [Action] = []
        for (path, file) in pending where now - file.lastChange >= stableWindow {
            pending[path] = nil
            handedOut[path] = now
            actions.append(.claim(OutboxFile(partner: file.partner, path: path, name: file.name, size: file.size)))
        }
        return actions.sorted { $0.path < $1.path }
    }

    /// When a pending file could next become stable.
    public func nextCheck() -> Int64? { pending.values.map { $0.lastChange + stableWindow }.min() }

    /// Forgets every path not in `present` (after a full rescan).
    public mutating func keepOnly(_ present: Set<String>) {
        for path in pending.keys where !present.contains(path) { pending[path] = nil }
        for path in handedOut.keys where !present.contains(path) { handedOut[path] = nil }
    }
}
