import Foundation
import Glibc
import GatehouseDaemon
import GatehouseKit
import GatehouseTesting
import Logging
import Synchronization
import Testing

/// The outbox watcher in-process, on a real folder with real inotify events.
@Suite("Spool watcher: names that are not UTF-8 or start with a combining mark", .timeLimit(.minutes(3)))
struct SpoolWatcherTests {
    /// Creates `folder/name` from the name's bytes (which no `String` can hold when not UTF-8).
    func create(_ name: [UInt8], in folder: String) {
        let path = Array(folder.utf8) + [UInt8(ascii: "/")] + name + [0]
        let fd = path.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o600) } }
        _ = write(fd, "discharge", 9)
        close(fd)
    }

    /// Polls `condition` every 50 ms for up to `seconds` without blocking a thread.
    func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<Int(seconds * 20) where !condition() { try await Task.sleep(for: .milliseconds(50)) }
        return condition()
    }

    func list(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    @Test func aNameThatIsNotUTF8GoesToFailedWithItsNameEscaped() async throws {
        let folder = try TemporaryDirectory()
        let outbox = folder.appending("spool/outbox"), failed = folder.appending("spool/failed")
        for path in [outbox + "/YOI123", failed] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        // One waiting at start (found by the first scan), one arriving later (reported by inotify).
        create(Array("M".utf8) + [0xFC] + Array("ller-discharge.txt".utf8), in: outbox + "/YOI123")
        let claimed = Mutex<[String]>([])
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // A rescan only every hour: the second file can only be found through its inotify event.
        let watcher = SpoolWatcher(outbox: outbox, stableWindow: .milliseconds(50), rescanInterval: .seconds(3600), logger: logger) { events in
            for case .complete(let file) in events { claimed.withLock { $0.append(file.name) } }
        }
        let running = Task { try await watcher.run() }
        defer { running.cancel() }
        #expect(try await eventually { list(failed).count == 1 })
        create(Array("Gr".utf8) + [0xF6, 0xDF] + Array("e.txt".utf8), in: outbox + "/YOI123")
        // The folder appears before the file is moved into it: wait for both.
        #expect(try await eventually { list(failed).count == 2 && list(outbox + "/YOI123").isEmpty })
        let kept = list(failed).flatMap { list(failed + "/" + $0) }.sorted()
        #expect(kept == ["Gr\\xF6\\xDFe.txt", "M\\xFCller-discharge.txt", "reason.txt", "reason.txt"])
        let reasons = list(failed).map { (try? String(contentsOfFile: failed + "/\($0)/reason.txt", encoding: .utf8)) ?? "" }.joined()
        #expect(reasons.contains("not sent: \"M\\xFCller-discharge.txt\" for YOI123: its name is not UTF-8"), "\(reasons)")
        #expect(reasons.contains("\"Gr\\xF6\\xDFe.txt\""), "\(reasons)")
        #expect(claimed.withLock { $0 }.isEmpty)
    }

    @Test func bytesThatAreNotUTF8AreEscapedReadably() {
        #expect(FailedFolder.escaped(Array("M".utf8) + [0xFC] + Array("ller-discharge.txt".utf8)) == "M\\xFCller-discharge.txt")
        #expect(FailedFolder.escaped(Array("café é.txt".utf8)) == "café é.txt")
        #expect(FailedFolder.escaped(Array("a\\b\u{1}".utf8)) == "a\\\\b\\x01")
        // Half of a two-byte character, then a lone continuation byte.
        #expect(FailedFolder.escaped([0xC3, 0x41, 0xA9]) == "\\xC3A\\xA9")
        #expect(OutboxScanner.isIgnored([0x2E, 0xFF]) && OutboxScanner.isIgnored(Array("x\u{FF}.part".utf8)) && !OutboxScanner.isIgnored([0xFF]))
    }

    /// A refused file's folder appears in `failed/` whole (its file and its reason), never empty
    /// or half-filled for a person or script watching it; a crash while filling it leaves a
    /// hidden folder that recovery finishes (the file moved in) or removes (nothing moved yet).
    @Test func aFailedFolderAppearsWholeAndACrashedOneIsFinished() throws {
        let folder = try TemporaryDirectory()
        let outbox = folder.appending("outbox"), failed = folder.appending("failed")
        for path in [outbox, failed] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        create(Array("summary.xml".utf8), in: outbox)
        let made = try FailedFolder(root: failed).take(Array("summary.xml".utf8), from: outbox, reason: "not sent", now: 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: failed) == [DurableFile.split(made).name])
        #expect(try FileManager.default.contentsOfDirectory(atPath: made).sorted() == ["reason.txt", "summary.xml"])
        // Crashes: one after the original moved in, one after only the reason was written.
        for (name, files) in [("2-aa", ["reason.txt", "scan.pdf"]), ("3-bb", ["reason.txt"])] {
            try FileManager.default.createDirectory(atPath: "\(failed)/.\(name)", withIntermediateDirectories: false)
            for file in files { create(Array(file.utf8), in: "\(failed)/.\(name)") }
        }
        // And one whose name is taken already: it comes into view beside it, never stays hidden.
        try FileManager.default.createDirectory(atPath: "\(failed)/.2-aa-dup", withIntermediateDirectories: false)
        create(Array("late.pdf".utf8), in: "\(failed)/.2-aa-dup")
        try FileManager.default.createDirectory(atPath: "\(failed)/2-aa-dup", withIntermediateDirectories: false)
        FailedFolder.recover(in: failed)
        let shown = try FileManager.default.contentsOfDirectory(atPath: failed).sorted()
        #expect(!shown.contains { $0.hasPrefix(".") }, "\(shown)")
        #expect(shown.count == 4 && shown.contains(DurableFile.split(made).name) && shown.contains("2-aa"), "\(shown)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(failed)/2-aa").sorted() == ["reason.txt", "scan.pdf"])
        let beside = try #require(shown.first { $0.hasPrefix("2-aa-dup-") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(failed)/\(beside)") == ["late.pdf"])
    }

    /// `outbox/YOI123/\u{301}abc` was cut into Characters, where the slash and the mark are one:
    /// the file was taken for one in `outbox/` itself, named `YOI123/\u{301}abc`, and refused.
    @Test func aNameStartingWithACombiningMarkIsReadByItsBytes() async throws {
        let folder = try TemporaryDirectory()
        let outbox = folder.appending("spool/outbox"), failed = folder.appending("spool/failed")
        for path in [outbox + "/YOI123", failed] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        // Found by the first scan: a record, a hidden file (its first byte is a dot), a stray file.
        create(Array("\u{301}abc".utf8), in: outbox + "/YOI123")
        create(Array(".\u{301}hidden".utf8), in: outbox + "/YOI123")
        create(Array("\u{301}stray.txt".utf8), in: outbox)
        let seen = Mutex<(complete: [OutboxFile], refused: [String])>(([], []))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let watcher = SpoolWatcher(outbox: outbox, stableWindow: .milliseconds(50), rescanInterval: .seconds(3600), logger: logger) { events in
            seen.withLock { seen in
                for event in events {
                    switch event {
                    case .complete(let file): seen.complete.append(file)
                    case .refused(let path, let partner, _): seen.refused.append("\(partner ?? "-") \(path)")
                    }
                }
            }
        }
        let running = Task { try await watcher.run() }
        defer { running.cancel() }
        #expect(try await eventually { seen.withLock { $0.complete.count == 1 && $0.refused.count == 1 } })
        // Reported by inotify (the next rescan is an hour away).
        create(Array("\u{301}def".utf8), in: outbox + "/YOI123")
        #expect(try await eventually { seen.withLock { $0.complete.count == 2 } })
        let (complete, refused) = seen.withLock { ($0.complete, $0.refused) }
        #expect(complete.map(\.partner) == ["YOI123", "YOI123"])
        #expect(complete.map { Array($0.name.utf8) } == [Array("\u{301}abc".utf8), Array("\u{301}def".utf8)])
        #expect(complete.map { Array($0.path.utf8) } == ["abc", "def"].map { Array("\(outbox)/YOI123/\u{301}\($0)".utf8) })
        #expect(refused.map { Array($0.utf8) } == [Array("- \(outbox)/\u{301}stray.txt".utf8)])
    }

    @Test func hiddenAndPartNamesAreJudgedByTheirBytes() {
        // ".\u{301}x" is one Character that is not "."; its first byte still makes a hidden file.
        #expect(OutboxScanner.isIgnored(".\u{301}x") && OutboxScanner.isIgnored(".") && OutboxScanner.isIgnored("x.part"))
        #expect(OutboxScanner.isIgnored("\u{301}.part"))
        // Ends in U+0301, not in ".part"; starts with U+0301, not with a dot.
        #expect(!OutboxScanner.isIgnored("x.part\u{301}") && !OutboxScanner.isIgnored("\u{301}.x"))
    }
}
