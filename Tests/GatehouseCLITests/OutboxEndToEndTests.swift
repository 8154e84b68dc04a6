import Foundation
import Glibc
import GatehouseTesting
import Testing

/// The outbox's hostile edges through two real `gatehouse run` daemons: a writer that pauses,
/// a name of 255 bytes, a name that is not UTF-8.
@Suite("gatehouse run: the outbox's edges", .serialized)
struct OutboxEndToEndTests {
    @Test func aWriterThatPausesLongerThanTheStableWindowIsSentWhole() throws {
        let pair = try DaemonPair()
        try pair.start()
        let outbox = pair.practice + "/spool/outbox/YOI123"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        let head = Array("<summary nhs=\"9990000018\">".utf8), tail = Array("Ada Testperson</summary>\n".utf8)
        // Written in place (no rename), with a pause five times this pair's stable window (300 ms)
        // and longer than its rescan interval (1 s) between the two pieces.
        let writer = open(outbox + "/summary.xml", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        #expect(writer >= 0)
        _ = head.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        usleep(1_500_000)
        _ = tail.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        close(writer)
        let done = eventually { pair.states(pair.practice) == ["acknowledged"] }
        #expect(done, "\(pair.status(pair.practice))\n\(pair.daemons[pair.practice]!.logText)")
        #expect(pair.received(pair.prison, from: "A81001")["summary.xml"] == head + tail)
        #expect(pair.filesBelow(pair.practice + "/spool/sent") == ["summary.xml"])
    }

    @Test func aNameOf255BytesTravelsBetweenTwoDaemons() throws {
        let pair = try DaemonPair()
        try pair.start()
        let name = String(repeating: "é", count: 100) + String(repeating: "r", count: 51) + ".xml"
        #expect(name.utf8.count == 255)
        let bytes = Array("<record nhs=\"9990000026\"/>".utf8)
        try pair.drop(name, bytes, from: pair.practice, to: "YOI123")
        let done = eventually { pair.states(pair.practice) == ["acknowledged"] }
        #expect(done, "\(pair.status(pair.practice))\n\(pair.daemons[pair.prison]!.logText)")
        #expect(pair.received(pair.prison, from: "A81001")[name] == bytes)
    }

    @Test func aNameThatIsNotUTF8IsRefusedOnceWithItsNameEscaped() throws {
        let pair = try DaemonPair()
        try pair.start()
        let outbox = pair.practice + "/spool/outbox/YOI123"
        try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
        // "Müller-discharge.txt" in Latin-1, as an old export tool writes it.
        let raw = Array(outbox.utf8) + Array("/M".utf8) + [0xFC] + Array("ller-discharge.txt".utf8) + [0]
        let fd = raw.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o600) } }
        _ = write(fd, "discharge", 9)
        close(fd)
        let failed = pair.practice + "/spool/failed"
        // The folder appears first, then its reason, then the file: wait for the file.
        #expect(eventually { pair.listing(failed).count == 1 && pair.listing(outbox).isEmpty },
                "\(pair.daemons[pair.practice]!.logText)")
        let folder = failed + "/" + (pair.listing(failed).first ?? "")
        #expect(pair.listing(folder) == ["M\\xFCller-discharge.txt", "reason.txt"])
        let reason = (try? String(contentsOfFile: folder + "/reason.txt", encoding: .utf8)) ?? ""
        #expect(reason.contains("\"M\\xFCller-discharge.txt\" for YOI123: its name is not UTF-8"), "\(reason)")
        // Logged once, not at every rescan (this pair rescans every second).
        sleep(3)
        let lines = pair.daemons[pair.practice]!.logText.split(separator: "\n").filter { $0.contains("xFCller") }
        #expect(lines.count == 1 && lines[0].contains("refused"), "\(lines)")
    }
}
