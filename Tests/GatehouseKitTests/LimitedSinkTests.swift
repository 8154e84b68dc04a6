import Glibc
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// A sink that records what reaches it.
final class RecordingSink: OpenedFileSink {
    var tables = 0
    func fileTable(_ entries: [FileTableEntry]) throws { tables += 1 }
    func beginFile(_ entry: FileTableEntry, index: Int) throws {}
    func write(_ bytes: UnsafeRawBufferPointer) throws {}
    func endFile() throws {}
}

@Suite("Receive limits at the file table")
struct LimitedSinkTests {
    func check(_ entries: [FileTableEntry], _ change: (inout ReceiveLimits) -> Void = { _ in }) throws -> (Error?, RecordingSink) {
        let folder = try TemporaryDirectory()
        var limits = ReceiveLimits()
        change(&limits)
        let inner = RecordingSink()
        do { try LimitedSink(inner, limits: limits, folder: folder.path).fileTable(entries) } catch { return (error, inner) }
        return (nil, inner)
    }

    @Test func withinTheLimitsTheTableIsPassedOn() throws {
        let (error, inner) = try check([FileTableEntry(name: "a.xml", size: 10), FileTableEntry(name: "b.pdf", size: 20)])
        #expect(error == nil)
        #expect(inner.tables == 1)
    }

    @Test func tooManyFilesOrTooManyDeclaredBytesAreTooLarge() throws {
        let (count, _) = try check((0..<3).map { FileTableEntry(name: "f\($0)", size: 1) }) { $0.filesMax = 2 }
        #expect((count as? FormatError)?.category == .tooLarge)
        #expect("\(count!)".contains("at most 2"))
        let (bytes, inner) = try check([FileTableEntry(name: "a", size: 6 << 20), FileTableEntry(name: "b", size: 3 << 20)]) { $0.unpackedMaxBytes = 8 << 20 }
        #expect((bytes as? FormatError)?.category == .tooLarge)
        #expect(inner.tables == 0)
        // Sizes that overflow when added are too large, never wrapped round to something small.
        let (overflow, _) = try check([FileTableEntry(name: "a", size: .max), FileTableEntry(name: "b", size: 2)])
        #expect((overflow as? FormatError)?.category == .tooLarge)
    }

    /// More than the disk has free is the receiver's problem: an I/O error (the daemon leaves the
    /// bundle in the mailbox), not a refusal the sender would be told of.
    @Test func moreThanTheFreeSpaceIsALocalIOError() throws {
        let folder = try TemporaryDirectory()
        var fs = statvfs()
        #expect(statvfs(folder.path, &fs) == 0)
        let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
        let (error, inner) = try check([FileTableEntry(name: "a", size: free + 1)]) { $0.unpackedMaxBytes = .max }
        #expect((error as? KitError)?.category == .io, "\(String(describing: error))")
        #expect("\(error!)".contains("only"))
        #expect(inner.tables == 0)
    }
}
