import Glibc
import GatehouseFormat
import GatehouseKit
public import Logging
public import ServiceLifecycle

/// What the watcher reports.
public enum SpoolEvent: Sendable {
    /// A complete record, ready to claim.
    case complete(OutboxFile)
    /// Something that must not be sent, with the reason (to move to `spool/failed/`).
    case refused(path: String, partner: String?, reason: String)
}

/// Watches `spool/outbox/<ODS>/` and reports complete records: files, and pack folders.
///
/// inotify makes it quick, but the truth is a full rescan: at start, every `rescanInterval`, and
/// at once when the kernel's event queue overflows (events are then lost). A name that is not
/// UTF-8 can be named by no `String` path, so the watcher moves such files to `spool/failed/`
/// itself, by their bytes, with the name escaped in the reason (they were once left for ever).
///
/// A pack folder is watched too, and a change inside it is a change of the pack, so a folder
/// filled in place is claimed only once nothing in it has changed for the stable window. (A
/// name that is not UTF-8 inside a pack is left to the claimer, which refuses the whole pack:
/// taking that one file out would split it.)
public final class SpoolWatcher: Service, Sendable {
    let outbox: String
    /// `spool/failed/`, beside the outbox (see `SpoolLayout`).
    let failed: FailedFolder
    let stableWindow: Duration
    let rescanInterval: Duration
    let logger: Logger
    /// Records handed to the handler at once (see ``defaultSlice``).
    let slice: Int
    let handler: @Sendable ([SpoolEvent]) async -> Void

    /// A watcher of `outbox` calling `handler` with the complete records and refusals it found,
    /// together (so that records waiting together can be claimed, journalled and synced together),
    /// at most `slice` at a time.
    public init(outbox: String, stableWindow: Duration, rescanInterval: Duration, logger: Logger,
                slice: Int = SpoolWatcher.defaultSlice, handler: @escaping @Sendable ([SpoolEvent]) async -> Void) {
        self.slice = max(1, slice)
        self.outbox = outbox
        failed = FailedFolder(root: DurableFile.split(outbox).folder + "/failed")
        self.stableWindow = stableWindow
        self.rescanInterval = rescanInterval
        self.logger = logger
        self.handler = handler
    }

    public func run() async throws {
        mkdir(outbox, 0o700)
        let inotify = try InotifyWatch(root: outbox)
        inotify.start()
        defer { inotify.stop() }
        var scanner = OutboxScanner(stableWindowMilliseconds: ms(stableWindow), reofferAfterMilliseconds: ms(rescanInterval))
        var lastRescan: Int64 = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let now = Self.now()
            var actions: [OutboxScanner.Action] = []
            let (changes, overflowed, truncated) = inotify.drain()
            if overflowed { logger.warning("inotify queue overflowed; rescanning the outbox") }
            if overflowed || truncated || now - lastRescan >= ms(rescanInterval) {
                await rescan(&scanner, inotify: inotify, now: now)
                lastRescan = now
            }
            for change in changes where !change.undecodableName {
                actions += observe(change.path, seen: change.seen, scanner: &scanner, inotify: inotify, now: now)
            }
            // Each folder once, however many events its name that is not UTF-8 raised.
            for folder in Set(changes.filter(\.undecodableName).map(\.path)) {
                if depth(of: folder) == 2 {
                    actions += observe(folder, seen: .scanned, scanner: &scanner, inotify: inotify, now: now)
                } else {
                    refuseUndecodable(in: folder, scanner: &scanner, now: now)
                }
            }
            await hand(actions, scanner: &scanner)
            await handDue(&scanner, now: now)
            // Until inotify reports a change, a pending file may become stable, or the rescan is due.
            let untilDue = scanner.nextCheck().map { max(1, $0 - Self.now()) } ?? 1000
            let untilRescan = max(1, lastRescan + ms(rescanInterval) - Self.now())
            await inotify.changed.wait(upTo: .milliseconds(min(1000, untilDue, untilRescan)))
        }
    }

    /// How many folders below the outbox `path` is: 1 for a partner folder, 2 for what is in it.
    private func depth(of path: String) -> Int {
        path.utf8.dropFirst(outbox.utf8.count).split(separator: UInt8(ascii: "/")).count
    }

    /// Looks at one path and feeds the scanner; `inside` when the event was about an entry of
    /// the pack folder at `path`.
    private func observe(_ path: String, seen: OutboxScanner.Seen, inside: Bool = false, scanner: inout OutboxScanner,
                         inotify: InotifyWatch, now: Int64) -> [OutboxScanner.Action] {
        // Bytes, not Characters: in "outbox/\u{301}abc" the slash and the combining mark are one
        // Character, so dropping Characters and splitting on the Character "/" misread the name.
        let root = outbox + "/"
        guard path.hasBytePrefix(root) else { return [] }
        let relative = Substring(path.utf8.dropFirst(root.utf8.count)).splitBytes(UInt8(ascii: "/"))
            .filter { !$0.isEmpty }.map(String.init)
        guard !relative.isEmpty, relative.count <= 3 else { return [] }
        if relative.count == 3 {
            // Inside a pack folder (or one being built under a hidden name, which is not watched).
            // A file renamed in there is complete, as one closed by its writer is; the pack is
            // complete once nothing in it has changed for the stable window.
            guard !OutboxScanner.isIgnored(relative[1]) else { return [] }
            let inner: OutboxScanner.Seen = seen == .renamedIn ? .closedAfterWriting : seen
            return observe("\(outbox)/\(relative[0])/\(relative[1])", seen: inner, inside: true, scanner: &scanner,
                           inotify: inotify, now: now)
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            scanner.vanished(path)
            return []
        }
        let kind: OutboxScanner.Kind = switch info.st_mode & S_IFMT {
        case S_IFREG: .regular
        case S_IFLNK: .symlink
        case S_IFDIR: .directory
        default: .other
        }
        if relative.count == 1 && kind == .directory {
            // A new partner folder: watch it, and look at what is already in it.
            inotify.watchPartner(path)
            return list(path, scanner: &scanner, now: now).flatMap {
                observe("\(path)/\($0)", seen: .scanned, scanner: &scanner, inotify: inotify, now: now)
            }
        }
        var mtime = Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
        var size = UInt64(info.st_size)
        var seen = seen
        if relative.count == 2 && kind == .directory && !OutboxScanner.isIgnored(relative[1]) {
            // Its own creation is no writer at work (nothing holds a folder open for writing, and
            // no close would ever be seen); what is written inside it is, through its watch.
            if !inside && seen == .written { seen = .scanned }
            // A pack: watched, so that what is written inside it is seen; judged by its entries.
            inotify.watchPartner(path)
            // An empty folder is no pack yet: a producer makes the folder, then fills it (a pause
            // longer than the stable window between the two must not send it empty, or refuse it).
            guard let entries = try? FolderHandle(path: path).entries(), !entries.isEmpty else {
                scanner.vanished(path)
                return []
            }
            size = entries.reduce(0) { $0 &+ $1.size }
            mtime = entries.reduce(mtime) { max($0, $1.modified / 1_000_000) }
        }
        return scanner.observe(path: path, partner: relative.count == 2 ? relative[0] : nil, name: relative.last!, kind: kind,
                               size: size, mtime: mtime, seen: seen, now: now)
    }

    /// Records handed to the handler at once, the size of one journal transaction of the claim.
    /// A backlog (100,000 files at start) is read, claimed and forgotten a slice at a time, so
    /// the watcher never holds it whole: it peaked at 144 MiB when it did.
    public static let defaultSlice = 4096

    /// Hands `actions` to the handler, then forgets the paths that are gone (claimed, refused):
    /// remembering every handed-out path until the next rescan cost memory per file.
    private func hand(_ actions: [OutboxScanner.Action], scanner: inout OutboxScanner) async {
        guard !actions.isEmpty else { return }
        await handler(actions.map { action in
            switch action {
            case .claim(let file): .complete(file)
            case .refuse(let path, let partner, let reason): .refused(path: path, partner: partner, reason: reason)
            }
        })
        for action in actions where !Self.exists(action.path) { scanner.vanished(action.path) }
    }

    /// Hands out every file that is due, a slice at a time.
    private func handDue(_ scanner: inout OutboxScanner, now: Int64) async {
        while !Self.stopping {
            let due = scanner.due(now: now, limit: slice)
            guard !due.isEmpty else { return }
            await hand(due, scanner: &scanner)
        }
    }

    /// The truth, whatever inotify said: every partner folder read a slice at a time, each slice
    /// handed out as it becomes due; then whatever the scanner tracked that is gone is forgotten.
    private func rescan(_ scanner: inout OutboxScanner, inotify: InotifyWatch, now: Int64) async {
        for name in list(outbox, scanner: &scanner, now: now) {
            let path = "\(outbox)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, let folder = FolderStream(path) else {
                await hand(observe(path, seen: .scanned, scanner: &scanner, inotify: inotify, now: now), scanner: &scanner)
                continue
            }
            inotify.watchPartner(path)
            // Between slices a shutdown is honoured: what is left waits for the next start.
            while !Self.stopping, case let names = folder.next(slice), !names.isEmpty {
                var actions: [OutboxScanner.Action] = []
                for bytes in names {
                    guard let inner = String(validating: bytes, as: UTF8.self) else {
                        refuse(bytes, in: path, scanner: &scanner, now: now)
                        continue
                    }
                    actions += observe("\(path)/\(inner)", seen: .scanned, scanner: &scanner, inotify: inotify, now: now)
                }
                await hand(actions, scanner: &scanner)
                await handDue(&scanner, now: now)
            }
        }
        scanner.forget { !Self.exists($0) }
    }

    private static var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The UTF-8 names in `folder`; any other name is refused on the way (see ``refuseUndecodable``).
    private func list(_ folder: String, scanner: inout OutboxScanner, now: Int64) -> [String] {
        var names: [String] = []
        for entry in FileOperations.listFolderEntries(folder) ?? [] {
            if let name = entry.name {
                names.append(name)
            } else {
                refuse(entry.bytes, in: folder, scanner: &scanner, now: now)
            }
        }
        return names
    }

    /// Refuses every name in `folder` that is not UTF-8 (inotify reported one there).
    private func refuseUndecodable(in folder: String, scanner: inout OutboxScanner, now: Int64) {
        for entry in FileOperations.listFolderEntries(folder) ?? [] where entry.name == nil {
            refuse(entry.bytes, in: folder, scanner: &scanner, now: now)
        }
    }

    /// Moves the file or folder `name` (not UTF-8) out of `folder` into `spool/failed/` with a
    /// reason naming it escaped; logged once.
    private func refuse(_ name: [UInt8], in folder: String, scanner: inout OutboxScanner, now: Int64) {
        guard !OutboxScanner.isIgnored(name) else { return }
        let escaped = FailedFolder.escaped(name)
        guard scanner.firstRefusal(of: "\(folder)/\(escaped)", now: now) else { return }
        let partner = folder == outbox ? nil : DurableFile.split(folder).name
        var metadata: Logger.Metadata = ["gatehouse.state": "failed"]
        if let partner { metadata["gatehouse.partner"] = "\(partner)" }
        let why = "its name is not UTF-8 text (each byte that is not is shown as \\xNN), so it cannot be published"
        do {
            try failed.take(name, from: folder, reason: "not sent: \"\(escaped)\" for \(partner ?? "no partner"): \(why); "
                + "rename it with a UTF-8 name and drop it in again", now: now)
            logger.warning("refused \"\(escaped)\": \(why)", metadata: metadata)
        } catch {
            logger.error("could not move \"\(escaped)\" to failed/: \(error)", metadata: metadata)
        }
    }

    private func ms(_ d: Duration) -> Int64 { RetryPolicy.milliseconds(d) }

    static func now() -> Int64 { SystemWallClock().now() }
}
