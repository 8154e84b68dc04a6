import Foundation
import Glibc
import GatehouseTesting
import Testing

/// The files people name on the command line, through the built binary: FIFOs are refused at
/// once (never waited on), a link named is followed and what it leads to checked, and names of
/// up to 255 bytes go through every command and both daemons.
@Suite("gatehouse file arguments: FIFOs, links, long names", .serialized)
struct FileArgumentTests {
    /// Long enough for any command that still hangs to be caught; never reached otherwise.
    let hangLimit = 20.0

    func write(_ bytes: [UInt8], to path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

    @Test func aFIFOIsRefusedAtOnceByEveryCommandThatReadsAFile() throws {
        let pair = try DaemonPair()
        let fifo = pair.folder.appending("export.ghb")
        #expect(mkfifo(fifo, 0o600) == 0)
        // A link the user names is followed; what it leads to is checked on the opened descriptor.
        let link = pair.folder.appending("latest.card")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fifo)
        let commands: [[String]] = [
            ["inspect", fifo],
            ["open", fifo, "-o", pair.folder.appending("opened")],
            ["seal", "--to", "YOI123", "-o", pair.folder.appending("out.ghb"), fifo],
            ["partners", "add", fifo, "--yes"],
            ["partners", "add", link, "--yes"],
            ["send", fifo, "--to", "YOI123"],
        ]
        for command in commands {
            let result = try GatehouseProcess.run(command + ["--home", pair.practice], timeout: hangLimit)
            #expect(result.status == 12, "\(command): status \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("is a FIFO, not a regular file"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("gatehouse: hint: name a regular file"), "\(command): \(result.stderr)")
        }
        #expect(pair.listing(pair.practice + "/spool/outbox/YOI123").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: pair.folder.appending("out.ghb")))
    }

    @Test func aLinkTheUserNamesIsFollowedToARegularFile() throws {
        let pair = try DaemonPair()
        let record = try writeRecord(in: pair, named: "summary.xml")
        let link = pair.folder.appending("latest.xml")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: record)
        let bundle = pair.folder.appending("b.ghb")
        let sealed = try GatehouseProcess.run(["seal", "--home", pair.practice, "--to", "YOI123", "-o", bundle, link], timeout: hangLimit)
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let opened = try GatehouseProcess.run(["open", "--home", pair.prison, bundle, "-o", pair.folder.appending("in")], timeout: hangLimit)
        #expect(opened.status == 0, "\(opened.stderr)")
        // Published under the name the user gave, with the bytes of the file it leads to.
        #expect(FileManager.default.contents(atPath: pair.folder.appending("in/latest.xml")) == FileManager.default.contents(atPath: record))
    }

    /// "cannot send PATH" printed the path as it is: a bidirectional override in a file's name
    /// reached the terminal and reversed the rest of the line.
    @Test func aRefusedNameIsShownEscapedBySealAndSend() throws {
        let pair = try DaemonPair()
        let record = try writeRecord(in: pair, named: "report\u{202E}fdp.exe")
        let commands: [[String]] = [
            ["seal", "--to", "YOI123", "-o", pair.folder.appending("out.ghb"), record],
            ["send", record, "--to", "YOI123"],
        ]
        for command in commands {
            let result = try GatehouseProcess.run(command + ["--home", pair.practice], timeout: hangLimit)
            #expect(result.status == 12, "\(command): status \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("cannot send \"\(pair.folder.path)/report\\u{202E}fdp.exe\": "), "\(command): \(result.stderr)")
            #expect(!result.stderr.unicodeScalars.contains("\u{202E}"), "\(command): \(result.stderr.debugDescription)")
        }
        #expect(pair.listing(pair.practice + "/spool/outbox/YOI123").isEmpty)
    }

    func writeRecord(in pair: DaemonPair, named name: String) throws -> String {
        let path = pair.folder.appending(name)
        try write(Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8), to: path)
        return path
    }

    /// A name of exactly 255 bytes (the most FORMAT.md §3.7 and the file system allow), with
    /// two-byte characters in it.
    static let longName = "Discharge summary é " + String(repeating: "x", count: 255 - 21 - 7) + " é.pdf"

    @Test func aNameOf255BytesIsSealedOpenedSentAndDelivered() throws {
        #expect(Self.longName.utf8.count == 255)
        let pair = try DaemonPair()
        let staged = pair.folder.appending("staged")
        try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: true)
        let record = staged + "/" + Self.longName
        let bytes = (0..<90_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 9) }
        try write(bytes, to: record)
        let bundle = pair.folder.appending("long.ghb")
        let sealed = try GatehouseProcess.run(["seal", "--home", pair.practice, "--to", "YOI123", "-o", bundle, record], timeout: hangLimit)
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let out = pair.folder.appending("opened")
        let opened = try GatehouseProcess.run(["open", "--home", pair.prison, bundle, "-o", out], timeout: hangLimit)
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(FileManager.default.contents(atPath: out + "/" + Self.longName) == Data(bytes))
        // send puts it into the outbox; both daemons carry it, and the receipt comes back.
        try pair.start()
        let sent = try GatehouseProcess.run(["send", record, "--to", "YOI123", "--home", pair.practice, "--wait", "--timeout", "60s"],
                                            timeout: 90)
        #expect(sent.status == 0, "\(sent.stderr)\n\(pair.daemons[pair.prison]?.logText ?? "")")
        #expect(pair.received(pair.prison, from: "A81001")[Self.longName] == bytes)
        #expect(pair.states(pair.practice) == ["acknowledged"])
        let log = pair.daemons[pair.prison]?.logText ?? ""
        #expect(!log.contains("File name too long") && log.contains("published"), "\(log)")
    }
}
