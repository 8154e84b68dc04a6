import GatehouseDaemon
import Testing

@Suite("Outbox scanner (no sleeping)")
struct OutboxScannerTests {
    func scanner() -> OutboxScanner { OutboxScanner(stableWindowMilliseconds: 2000, reofferAfterMilliseconds: 30_000) }

    func claims(_ actions: [OutboxScanner.Action]) -> [String] {
        actions.compactMap { if case .claim(let f) = $0 { f.name } else { nil } }
    }

    @Test func renamedInIsCompleteAtOnce() {
        var s = scanner()
        let a = s.observe(path: "/o/YOI123/a.xml", partner: "YOI123", name: "a.xml", kind: .regular, size: 10, mtime: 1, seen: .renamedIn, now: 0)
        #expect(claims(a) == ["a.xml"])
        // Handed out once only, while it is still there.
        #expect(s.observe(path: "/o/YOI123/a.xml", partner: "YOI123", name: "a.xml", kind: .regular, size: 10, mtime: 1, seen: .renamedIn, now: 10).isEmpty)
        #expect(s.due(now: 100_000).isEmpty)
    }

    @Test func growingFileWaitsForTheStableWindow() {
        var s = scanner()
        var t: Int64 = 0
        for size in [100, 200, 300] as [UInt64] {
            #expect(s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .regular, size: size, mtime: t, seen: .scanned, now: t).isEmpty)
            t += 1500
        }
        #expect(s.due(now: 4000).isEmpty)  // last change at 3000
        #expect(s.nextCheck() == 5000)
        #expect(claims(s.due(now: 5000)) == ["f"])
    }

    @Test func partFilesAndDotFilesAreIgnored() {
        var s = scanner()
        for name in ["a.xml.part", ".hidden", ".a.xml.part"] {
            #expect(s.observe(path: "/o/Y/\(name)", partner: "Y", name: name, kind: .regular, size: 1, mtime: 0, seen: .renamedIn, now: 0).isEmpty)
        }
        #expect(s.due(now: 100_000).isEmpty)
    }

    @Test func zeroByteFileIsARecordOnceStable() {
        var s = scanner()
        #expect(s.observe(path: "/o/Y/empty", partner: "Y", name: "empty", kind: .regular, size: 0, mtime: 0, seen: .scanned, now: 0).isEmpty)
        #expect(claims(s.due(now: 2000)) == ["empty"])
    }

    @Test func linksSpecialFilesAndStrayFilesAreRefused() {
        var s = scanner()
        let link = s.observe(path: "/o/Y/l", partner: "Y", name: "l", kind: .symlink, size: 0, mtime: 0, seen: .renamedIn, now: 0)
        let fifo = s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .other, size: 0, mtime: 0, seen: .scanned, now: 0)
        let stray = s.observe(path: "/o/stray.txt", partner: nil, name: "stray.txt", kind: .regular, size: 1, mtime: 0, seen: .renamedIn, now: 0)
        for actions in [link, fifo, stray] {
            guard case .refuse(_, _, let reason)? = actions.first else { Issue.record("not refused: \(actions)"); continue }
            #expect(!reason.isEmpty)
        }
        // Refused once, not again on every rescan.
        #expect(s.observe(path: "/o/Y/l", partner: "Y", name: "l", kind: .symlink, size: 0, mtime: 0, seen: .scanned, now: 10).isEmpty)
    }

    @Test func aPathThatComesBackIsNewAndAFailedClaimIsRetried() {
        var s = scanner()
        _ = s.observe(path: "/o/Y/a", partner: "Y", name: "a", kind: .regular, size: 1, mtime: 0, seen: .renamedIn, now: 0)
        s.vanished("/o/Y/a")
        #expect(claims(s.observe(path: "/o/Y/a", partner: "Y", name: "a", kind: .regular, size: 1, mtime: 5, seen: .renamedIn, now: 100)) == ["a"])
        // Still there long after it was handed out: the claim failed (a full disk); offer it again.
        #expect(claims(s.observe(path: "/o/Y/a", partner: "Y", name: "a", kind: .regular, size: 1, mtime: 5, seen: .renamedIn, now: 40_000)) == ["a"])
    }

    @Test func rescanForgetsWhatIsGone() {
        var s = scanner()
        _ = s.observe(path: "/o/Y/a", partner: "Y", name: "a", kind: .regular, size: 1, mtime: 0, seen: .scanned, now: 0)
        s.keepOnly([])
        #expect(s.due(now: 10_000).isEmpty)
        #expect(s.nextCheck() == nil)
    }

    @Test func aFileUnchangedForTheWindowBeforeItIsSeenIsDueAtOnce() {
        var s = scanner()
        // Waiting when the gateway started: last written ten seconds before the first look.
        #expect(s.observe(path: "/o/Y/old", partner: "Y", name: "old", kind: .regular, size: 5, mtime: 90_000, seen: .scanned, now: 100_000).isEmpty)
        #expect(s.observe(path: "/o/Y/new", partner: "Y", name: "new", kind: .regular, size: 5, mtime: 99_900, seen: .scanned, now: 100_000).isEmpty)
        #expect(claims(s.due(now: 100_000)) == ["old"])
    }

    @Test func aFileSeenWrittenIsHeldUntilItsWriterClosesIt() {
        var s = scanner()
        // Created and written, then the writer pauses for far longer than the stable window.
        #expect(s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .regular, size: 23, mtime: 0, seen: .written, now: 0).isEmpty)
        #expect(s.due(now: 60_000).isEmpty)
        // The writer finishes and closes it: complete a stable window after its last change.
        #expect(s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .regular, size: 55, mtime: 61_000, seen: .written, now: 61_000).isEmpty)
        #expect(s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .regular, size: 55, mtime: 61_000, seen: .closedAfterWriting, now: 61_001).isEmpty)
        #expect(s.due(now: 62_000).isEmpty)
        #expect(s.nextCheck() == 63_000)
        #expect(claims(s.due(now: 63_000)) == ["f"])
    }

    @Test func aFileSeenWrittenButNeverClosedIsHeldOnlySoLong() {
        // A hard link made into the outbox is created, never closed; a lost event is never seen.
        var s = OutboxScanner(stableWindowMilliseconds: 2000, reofferAfterMilliseconds: 30_000, writerHoldMilliseconds: 600_000)
        _ = s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .regular, size: 5, mtime: 0, seen: .written, now: 0)
        #expect(s.nextCheck() == 600_000)
        #expect(s.due(now: 599_999).isEmpty)
        #expect(claims(s.due(now: 600_000)) == ["f"])
    }

    @Test func aClaimThatFoundAWriterIsOfferedAgainWhenItCloses() {
        var s = scanner()
        // Renamed in while its writer still had it open: handed out, and the claim waits.
        #expect(claims(s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .regular, size: 5, mtime: 0, seen: .renamedIn, now: 0)) == ["f"])
        #expect(s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .regular, size: 9, mtime: 10, seen: .written, now: 10).isEmpty)
        #expect(s.due(now: 20_000).isEmpty)
        // Closed: looked at again at once, not after the re-offer delay.
        _ = s.observe(path: "/o/Y/f", partner: "Y", name: "f", kind: .regular, size: 9, mtime: 10, seen: .closedAfterWriting, now: 20_000)
        #expect(claims(s.due(now: 22_000)) == ["f"])
    }

    func packs(_ actions: [OutboxScanner.Action]) -> [String] {
        actions.compactMap { if case .claim(let f) = $0, f.isPack { f.name } else { nil } }
    }

    @Test func aFolderRenamedInIsOnePackClaimedAtOnce() {
        var s = scanner()
        let actions = s.observe(path: "/o/Y/export", partner: "Y", name: "export", kind: .directory, size: 300, mtime: 1,
                                seen: .renamedIn, now: 0)
        #expect(packs(actions) == ["export"])
        #expect(s.due(now: 100_000).isEmpty)
    }

    @Test func aFolderFilledInPlaceWaitsUntilNothingInItChanges() {
        var s = scanner()
        // mkdir, then files written in it one after the other (the watcher reports the folder's
        // entries together: their total size and newest time).
        #expect(s.observe(path: "/o/Y/p", partner: "Y", name: "p", kind: .directory, size: 0, mtime: 0, seen: .written, now: 0).isEmpty)
        #expect(s.observe(path: "/o/Y/p", partner: "Y", name: "p", kind: .directory, size: 10, mtime: 500, seen: .closedAfterWriting,
                          now: 500).isEmpty)
        #expect(s.due(now: 2000).isEmpty)
        #expect(s.observe(path: "/o/Y/p", partner: "Y", name: "p", kind: .directory, size: 25, mtime: 1500, seen: .written, now: 1500).isEmpty)
        #expect(s.observe(path: "/o/Y/p", partner: "Y", name: "p", kind: .directory, size: 25, mtime: 1500, seen: .closedAfterWriting,
                          now: 1600).isEmpty)
        #expect(s.due(now: 3400).isEmpty)
        #expect(packs(s.due(now: 3500)) == ["p"])
    }

    @Test func hiddenAndPartFoldersAreBeingBuilt() {
        var s = scanner()
        for name in [".send-1a2b", "export.part"] {
            #expect(s.observe(path: "/o/Y/\(name)", partner: "Y", name: name, kind: .directory, size: 5, mtime: 0, seen: .renamedIn,
                              now: 0).isEmpty)
        }
        #expect(s.due(now: 100_000).isEmpty)
    }
}
