import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// Paths, mailbox names and addresses are split on bytes, never on Characters: a `/`, `.` or
/// space followed by a combining mark is one Character that is not `/`, `.` or a space.
@Suite("Paths and names work on bytes")
struct BytePathTests {
    @Test func aPathSplitsAtItsLastSlashByte() {
        #expect(DurableFile.split("staging/\u{301}abc") == (folder: "staging", name: "\u{301}abc"))
        #expect(DurableFile.split("/a/b/\u{301}") == (folder: "/a/b", name: "\u{301}"))
        #expect(DurableFile.split("/\u{301}x") == (folder: "/", name: "\u{301}x"))
        #expect(DurableFile.split("plain") == (folder: ".", name: "plain"))
    }

    @Test func aFileWhoseNameStartsWithACombiningMarkIsWrittenWhereItBelongs() throws {
        let folder = try TemporaryDirectory()
        let file = try DurableFile(path: folder.appending("\u{301}abc"))
        try file.write(UnsafeRawBufferPointer(start: nil, count: 0))
        try file.commit()
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).map { Array($0.utf8) } == [Array("\u{301}abc".utf8)])
    }

    @Test func aHomeStartingWithASlashByteIsAbsolute() {
        #expect(GatehouseHome(path: "/\u{301}home", currentDirectory: "/elsewhere").path.utf8.elementsEqual("/\u{301}home".utf8))
    }

    @Test func mailboxNamesAreClassifiedByBytes() throws {
        let id = BundleID.random()
        #expect(MailboxName.classify("\(id.hex).ghb") == .bundle(id))
        // The dot and the mark are one Character; the name is not a bundle's.
        #expect(MailboxName.classify("\(id.hex).\u{301}ghb") == .unknown)
        #expect(MailboxName.classify("\(id.hex).A81001.ghr") == .receipt(id, receiver: try ODSCode("A81001")))
        // A held receipt's own name (FORMAT.md §7.1); nothing else in its place.
        #expect(MailboxName.classify("\(id.hex).A81001.held.ghr") == .receipt(id, receiver: try ODSCode("A81001")))
        for other in ["HELD", "hold", "held.x"] {
            #expect(MailboxName.classify("\(id.hex).A81001.\(other).ghr") == .unknown, "\(other)")
        }
        #expect(MailboxName.classify("A81001.3.ghk") == .manifest(try ODSCode("A81001"), version: 3))
        #expect(MailboxName.classify("A81001.03.ghk") == .unknown)
    }

    @Test func dotNamesStayHiddenWhateverFollowsTheDot() async throws {
        let folder = try TemporaryDirectory()
        let org = try ODSCode("A81001")
        try FileManager.default.createDirectory(atPath: folder.appending("A81001"), withIntermediateDirectories: true)
        for name in [".\u{301}x", ".part", "visible.ghb"] {
            _ = FileManager.default.createFile(atPath: folder.appending("A81001/\(name)"), contents: Data())
        }
        #expect(try await DirectoryTransport(root: folder.path).list(org) == ["visible.ghb"])
    }

    @Test func mailboxAddressesArePrintableASCII() throws {
        #expect(try MailboxAddress("dir:/srv/mail/") == .directory("/srv/mail"))
        for bad in ["dir:/srv/m\u{301}ail", "dir:/srv/\u{202E}liam", "dir:/", "dir:relative"] {
            #expect(throws: KitError.self, "\(bad)") { try MailboxAddress(bad) }
        }
    }
}
