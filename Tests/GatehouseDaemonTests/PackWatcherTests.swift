import Foundation
import Glibc
import GatehouseDaemon
import GatehouseTesting
import Logging
import Synchronization
import Testing

/// What a watcher reported.
final class Reports: Sendable {
    /// Each pack reported, with the size of each of its files at that moment.
    let packs = Mutex<[[String: Int]]>([])
    /// The names of the files reported.
    let files = Mutex<[String]>([])
}

/// The outbox watcher and pack folders, in-process, on a real folder with real inotify events.
@Suite("Spool watcher: pack folders", .timeLimit(.minutes(3)))
struct PackWatcherTests {
    func eventually(_ seconds: Double = 20, _ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<Int(seconds * 20) where !condition() { try await Task.sleep(for: .milliseconds(50)) }
        return condition()
    }

    /// Runs a watcher on a fresh outbox, after `prepare` has filled its partner folder, and
    /// `body` once the watcher has looked at everything there: its first scan, which also
    /// watches the pack folders it finds, reports a file left there an hour ago.
    func watching(prepare: (String) throws -> Void = { _ in },
                  _ body: (String, () -> [[String: Int]]) async throws -> Void) async throws {
        let folder = try TemporaryDirectory()
        let outbox = folder.appending("spool/outbox"), partner = outbox + "/YOI123"
        try FileManager.default.createDirectory(atPath: partner, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder.appending("spool/failed"),
                                                withIntermediateDirectories: true)
        try prepare(partner)
        try writeClosed([1], to: partner + "/sentinel.txt")
        var old = [timeval(tv_sec: time(nil) - 3600, tv_usec: 0), timeval(tv_sec: time(nil) - 3600, tv_usec: 0)]
        #expect(utimes(partner + "/sentinel.txt", &old) == 0)
        let reported = Reports()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let watcher = SpoolWatcher(outbox: outbox, stableWindow: .seconds(1), rescanInterval: .seconds(3600),
                                   logger: logger) { events in
            for case .complete(let file) in events {
                guard file.isPack else {
                    reported.files.withLock { $0.append(file.name) }
                    continue
                }
                let names = (try? FileManager.default.contentsOfDirectory(atPath: file.path)) ?? []
                let sizes = names.map { name in
                    (name, (try? FileManager.default.attributesOfItem(atPath: "\(file.path)/\(name)")[.size] as? Int) ?? -1)
                }
                reported.packs.withLock { $0.append(Dictionary(uniqueKeysWithValues: sizes)) }
            }
        }
        let running = Task { try await watcher.run() }
        defer { running.cancel() }
        #expect(try await eventually { reported.files.withLock { $0 } == ["sentinel.txt"] })
        try await body(partner) { reported.packs.withLock { $0 } }
    }

    @Test func whatIsWrittenInsideAPackFolderHoldsItBack() async throws {
        // The folder exists (its mtime is now: not due for a stable window); then, watched, it
        // gets a file written for three times the stable window, a piece every 300 ms. The
        // file's creation inside the folder says a writer is at work: held until it closes.
        try await watching(prepare: { try FileManager.default.createDirectory(atPath: $0 + "/export",
                                                                               withIntermediateDirectories: false) }) { partner, reported in
            let fd = open(partner + "/export/record.xml", O_WRONLY | O_CREAT | O_EXCL, 0o600)
            for _ in 0..<10 {
                _ = write(fd, "0123456789", 10)
                try await Task.sleep(for: .milliseconds(300))
            }
            close(fd)
            #expect(try await eventually { !reported().isEmpty })
            #expect(reported() == [["record.xml": 100]])
        }
    }

    @Test func aFolderFilledByRenamingFilesIntoItIsReportedOnceWithThemAll() async throws {
        try await watching(prepare: { try FileManager.default.createDirectory(atPath: $0 + "/export",
                                                                               withIntermediateDirectories: false) }) { partner, reported in
            // Files renamed into the watched folder are complete, as files closed by their writer are.
            for name in ["a.xml", "b.xml"] {
                try writeClosed(Array("<record/>".utf8), to: partner + "/.\(name).part")
                #expect(rename(partner + "/.\(name).part", partner + "/export/\(name)") == 0)
            }
            #expect(try await eventually { !reported().isEmpty })
            #expect(reported() == [["a.xml": 9, "b.xml": 9]])
        }
    }

    @Test func aFolderRenamedInIsReportedAtOnceAndAHiddenOneNever() async throws {
        try await watching { partner, reported in
            let building = partner + "/.export"
            try FileManager.default.createDirectory(atPath: building, withIntermediateDirectories: false)
            try writeClosed(Array("<record/>".utf8), to: building + "/record.xml")
            try writeClosed([1, 2], to: building + "/scan.pdf")
            #expect(rename(building, partner + "/export") == 0)
            #expect(try await eventually { !reported().isEmpty })
            #expect(reported() == [["record.xml": 9, "scan.pdf": 2]])
        }
    }
}
