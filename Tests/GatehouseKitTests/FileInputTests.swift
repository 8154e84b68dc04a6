import Foundation
import Glibc
import GatehouseKit
import GatehouseTesting
import Testing

/// Opening files the safe way (no blocking on FIFOs, links refused or followed on purpose),
/// telling whether anyone is writing a file, and temporary names that never outgrow a name.
@Suite("File input: FIFOs, links, open writers, temporary names")
struct FileInputTests {
    let folder: TemporaryDirectory

    init() throws { folder = try TemporaryDirectory() }

    @Test func aFIFOIsRefusedWithoutWaitingForAWriter() throws {
        let fifo = folder.appending("export.xml")
        #expect(mkfifo(fifo, 0o600) == 0)
        let unblocker = FIFOUnblocker(path: fifo)
        defer { unblocker.stop() }
        for followLinks in [true, false] {
            #expect(throws: SystemError.notRegular(fifo, .fifo)) { try FileSource(path: fifo, followLinks: followLinks) }
        }
        #expect(unblocker.releasedReaders == 0)
        #expect(SystemError.notRegular(fifo, .fifo).description == "\(fifo) is a FIFO, not a regular file")
        // Through the gateway, a FIFO is its own kind of error (the CLI's hint depends on it).
        let error = #expect(throws: KitError.self) { try FileOperations.read(at: fifo, limit: 100) }
        #expect(error?.category == .notRegularFile)
    }

    @Test func aLinkIsRefusedOrFollowedAsAskedAndAFolderIsNoFile() throws {
        let target = try folder.write("record.xml", [1, 2, 3])
        let link = folder.appending("latest.xml")
        #expect(symlink(target, link) == 0)
        #expect(throws: SystemError.notRegular(link, .symbolicLink)) { try FileSource(path: link, followLinks: false) }
        let followed = try FileSource(path: link)
        #expect(followed.size == 3 && followed.status.type == .regular)
        #expect(throws: SystemError.notRegular(folder.path, .directory)) { try FileSource(path: folder.path) }
    }

    @Test func writersAreSeenByTheLeaseAndByTheProcessScan() throws {
        let path = try folder.write("summary.xml", [1, 2, 3])
        let writer = open(path, O_WRONLY | O_APPEND)
        let reader = open(path, O_RDONLY)
        defer { close(reader) }
        let source = try FileSource(path: path, followLinks: false)
        #expect(OpenWriterCheck(methods: [.lease]).check(source) == .writer(.lease))
        #expect(OpenWriterCheck(methods: [.processScan]).check(source) == .writer(.processScan))
        close(writer)
        // A reader is no writer.
        #expect(OpenWriterCheck(methods: [.lease]).check(source) == .noWriter(.lease))
        #expect(OpenWriterCheck(methods: [.processScan]).check(source) != .writer(.processScan))
        #expect(OpenWriterCheck().check(source) == .noWriter(.lease))
    }

    @Test func temporaryNamesDoNotGrowWithTheFileName() throws {
        let name = String(repeating: "é", count: 125) + ".pdf"  // 254 bytes
        #expect(name.utf8.count == 254)
        let file = try DurableFile(path: folder.appending(name))
        #expect(DurableFile.split(file.temporaryPath).name.utf8.count == DurableFile.split(DurableFile.temporaryName(beside: "x")).name.utf8.count)
        try [UInt8](repeating: 7, count: 10).withUnsafeBytes { try file.writeAll($0) }
        try file.commit()
        #expect(FileManager.default.contents(atPath: folder.appending(name)) == Data(repeating: 7, count: 10))
        // A staging folder for an output folder of 255 bytes, beside it.
        let destination = folder.appending(String(repeating: "d", count: 255))
        let publisher = try StagedPublisher(destination: destination)
        try publisher.addFile(named: StagedPublisher.manifestRawName, contents: [1])
        try publisher.publish()
        #expect(FileManager.default.fileExists(atPath: destination + "/" + StagedPublisher.manifestRawName))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == [destination, folder.appending(name)].map { DurableFile.split($0).name }.sorted())
    }
}
