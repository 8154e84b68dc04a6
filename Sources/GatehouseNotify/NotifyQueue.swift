import Foundation
import Glibc
public import GatehouseKit

/// One event waiting for one target.
public struct QueuedNotice: Codable, Sendable, Equatable {
    /// `command` or `webhook`.
    public var target: String
    /// The event.
    public var event: NotifyEvent
    /// When it was queued (ms since the epoch).
    public var queuedAt: Int64
    /// Attempts made.
    public var attempts = 0
    /// When the next attempt is due (ms).
    public var nextAttemptAt: Int64

    /// The file it is kept in: sorted by time queued, then id.
    var fileName: String {
        let time = String(max(0, queuedAt))
        return String(repeating: "0", count: max(0, 15 - time.count)) + time + "-\(event.id).\(target).json"
    }
}

/// The notifications waiting to be sent: one small JSON file per event and target in
/// `spool/notify/`, written durably, so that they survive a restart of the daemon (a journal
/// table would tie them to one journal implementation; a few files a day need no index).
/// At most `limit` per target: a new event pushes the oldest out (the caller audits it).
public struct NotifyQueue: Sendable {
    /// The folder.
    public let folder: String
    /// The most notices kept per target.
    public let limit: Int

    /// The queue in `folder` (created when missing).
    public init(folder: String, limit: Int) throws(KitError) {
        self.folder = folder
        self.limit = limit
        try FileOperations.makeDirectory(folder, mode: 0o700)
    }

    /// Adds `notice`; returns the notices dropped to make room (oldest first).
    public func add(_ notice: QueuedNotice) throws(KitError) -> [QueuedNotice] {
        var dropped: [QueuedNotice] = []
        let waiting = names(for: notice.target)
        for name in waiting.prefix(max(0, waiting.count - limit + 1)) {
            if let old = read(name) { dropped.append(old) }
            unlink("\(folder)/\(name)")
        }
        try save(notice)
        return dropped
    }

    /// Writes `notice` (new, or after an attempt).
    public func save(_ notice: QueuedNotice) throws(KitError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(notice) else {
            throw .invalidInput("cannot encode notice \(notice.event.id)")
        }
        try FileOperations.replaceAtomically(at: "\(folder)/\(notice.fileName)", contents: Array(data), mode: 0o600)
    }

    /// Removes `notice` (sent or dropped).
    public func remove(_ notice: QueuedNotice) {
        unlink("\(folder)/\(notice.fileName)")
    }

    /// Every notice waiting, oldest first. A file that does not read as one (damaged, or left by
    /// someone else) is removed: it could never be sent.
    public func all() -> [QueuedNotice] {
        names(for: nil).compactMap { name in
            guard let notice = read(name) else {
                unlink("\(folder)/\(name)")
                return nil
            }
            return notice
        }
    }

    private func names(for target: String?) -> [String] {
        (FileOperations.listFolder(folder) ?? []).filter {
            !$0.hasPrefix(".") && $0.hasSuffix(target.map { ".\($0).json" } ?? ".json")
        }.sorted()
    }

    private func read(_ name: String) -> QueuedNotice? {
        guard let bytes = try? FileOperations.read(at: "\(folder)/\(name)", limit: 1 << 20) else { return nil }
        return try? JSONDecoder().decode(QueuedNotice.self, from: Data(bytes))
    }
}
