import Foundation
import Glibc
@testable import GatehouseDaemon
import GatehouseTesting
import Logging
import Synchronization
import Testing

/// A backlog waiting at start is read, handed out and forgotten a slice at a time, and inotify's
/// events about it are not hoarded: memory stays bounded however many files wait (bench row 6).
@Suite("Spool watcher: a large backlog in slices", .timeLimit(.minutes(3)))
struct SpoolBacklogTests {
    func list(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<400 where !condition() { try await Task.sleep(for: .milliseconds(50)) }
        return condition()
    }

    @Test func aBacklogIsHandedOutASliceAtATimeAndEachFileOnce() async throws {
        let folder = try TemporaryDirectory()
        let outbox = folder.appending("spool/outbox"), work = folder.appending("work")
        for path in [outbox + "/YOI123", work] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        let names = (0..<50).map { String(format: "record-%03d.xml", $0) }
        for name in names { try Data("<record nhs=\"9990000018\"/>".utf8).write(to: URL(fileURLWithPath: "\(outbox)/YOI123/\(name)")) }
        let batches = Mutex<[[String]]>([])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let watcher = SpoolWatcher(outbox: outbox, stableWindow: .milliseconds(50), rescanInterval: .seconds(3600),
                                   logger: logger, slice: 8) { events in
            // Claimed as the engine does: moved out of the outbox.
            var batch: [String] = []
            for case .complete(let file) in events {
                batch.append(file.name)
                rename(file.path, "\(work)/\(file.name)")
            }
            batches.withLock { $0.append(batch) }
        }
        let running = Task { try await watcher.run() }
        defer { running.cancel() }
        #expect(try await eventually { list(work).count == names.count })
        let seen = batches.withLock { $0 }
        #expect(seen.flatMap { $0 }.sorted() == names)
        #expect(seen.allSatisfy { $0.count <= 8 }, "\(seen.map(\.count))")
        #expect(seen.count >= names.count / 8)
    }

    /// A shutdown during a backlog is honoured between slices, not after the last of 100,000.
    @Test func aShutdownStopsABacklogBetweenSlices() async throws {
        let folder = try TemporaryDirectory()
        let outbox = folder.appending("spool/outbox")
        try FileManager.default.createDirectory(atPath: outbox + "/YOI123", withIntermediateDirectories: true)
        for i in 0..<200 { try Data([1]).write(to: URL(fileURLWithPath: "\(outbox)/YOI123/r\(i)")) }
        let handled = Mutex(0)
        let first = AsyncStream<Void>.makeStream()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let watcher = SpoolWatcher(outbox: outbox, stableWindow: .milliseconds(50), rescanInterval: .seconds(3600),
                                   logger: logger, slice: 1) { events in
            handled.withLock { $0 += events.count }
            first.continuation.yield()
            // The first slice's claim lasts until the shutdown has begun.
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
        }
        let running = Task { try await watcher.run() }
        for await _ in first.stream { break }
        running.cancel()
        _ = try? await running.value
        #expect(handled.withLock { $0 } == 1)
    }

    @Test func dueHandsOutAtMostTheLimitAndTheRestLater() {
        var scanner = OutboxScanner(stableWindowMilliseconds: 100, reofferAfterMilliseconds: 30_000)
        for i in 0..<25 {
            _ = scanner.observe(path: "/o/Y/\(i)", partner: "Y", name: "\(i)", kind: .regular, size: 1, mtime: 0, seen: .scanned, now: 1000)
        }
        var handed: [String] = []
        while case let due = scanner.due(now: 1000, limit: 10), !due.isEmpty {
            #expect(due.count <= 10)
            handed += due.map(\.path)
            // The watcher forgets what its claim moved away.
            for path in due.map(\.path) { scanner.vanished(path) }
        }
        #expect(handed.sorted() == (0..<25).map { "/o/Y/\($0)" }.sorted())
        #expect(scanner.tracked == 0)
    }

    /// Claiming a backlog moves every file away, one inotify event each: past the cap the queue
    /// is dropped and the watcher rescans, as after the kernel's own overflow.
    @Test func inotifyChangesPastTheCapAreDroppedForARescan() async throws {
        let folder = try TemporaryDirectory()
        let partner = folder.appending("YOI123")
        try FileManager.default.createDirectory(atPath: partner, withIntermediateDirectories: true)
        let watch = try InotifyWatch(root: folder.path, maxQueued: 10)
        watch.watchPartner(partner)
        watch.start()
        defer { watch.stop() }
        for i in 0..<40 { try Data([1]).write(to: URL(fileURLWithPath: "\(partner)/f\(i)")) }
        // Nothing drained until the reader has gone past the cap, however it batches its reads.
        #expect(try await eventually { watch.peek().truncated })
        let drained = watch.drain()
        #expect(drained.truncated)
        #expect(drained.changes.count <= 10)

    }

    /// Thirty files moved away (a claim) and one renamed in: the arrival survives the cap.
    @Test func pastTheCapAnArrivalIsKeptAndDeparturesDropped() async throws {
        let folder = try TemporaryDirectory()
        let partner = folder.appending("YOI123")
        try FileManager.default.createDirectory(atPath: partner, withIntermediateDirectories: true)
        for i in 0..<31 { try Data([1]).write(to: URL(fileURLWithPath: "\(partner)/f\(i)")) }
        // Watching starts after the files were written: only the moves below raise events.
        let watch = try InotifyWatch(root: folder.path, maxQueued: 10)
        watch.watchPartner(partner)
        watch.start()
        defer { watch.stop() }
        for i in 0..<30 { try FileManager.default.removeItem(atPath: "\(partner)/f\(i)") }
        rename("\(partner)/f30", "\(partner)/arrived.xml")
        let arrival = { (changes: [InotifyWatch.Change]) in
            changes.contains { $0.path.hasSuffix("/arrived.xml") && $0.seen == .renamedIn }
        }
        #expect(try await eventually { watch.peek().truncated && arrival(watch.peek().changes) })
        let drained = watch.drain()
        #expect(drained.truncated && arrival(drained.changes))
        #expect(drained.changes.count <= 10)
    }
}
