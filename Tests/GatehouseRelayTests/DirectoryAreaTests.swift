import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Testing

@testable import GatehouseRelay

/// The relay's published directory (docs/DIRECTORY.md §5): readable by every registered
/// organisation, changeable by none over SFTP, and nothing outside it reachable through it.
@Suite("the relay's read-only directory")
struct DirectoryAreaTests {
    let relay: RelayFixture
    let published: String

    init() throws {
        relay = try RelayFixture()
        published = relay.folder.appending("directory")
        try FileManager.default.createDirectory(atPath: published + "/tile/entries", withIntermediateDirectories: true)
        try Data("a checkpoint\n".utf8).write(to: URL(fileURLWithPath: published + "/checkpoint"))
        try FileManager.default.createDirectory(
            atPath: published + "/tile/entries/000.p", withIntermediateDirectories: true)
    }

    func read(_ session: MailboxSession, _ path: String) -> [UInt8]? {
        guard
            case .handle(_, let handle) = session.request({
                .open(id: $0, path: path, flags: .read, attributes: SFTPAttributes())
            })
        else { return nil }
        defer { _ = session.close(handle) }
        guard case .data(_, let bytes) = session.request({ .read(id: $0, handle: handle, offset: 0, length: 4096) })
        else { return [] }
        return bytes
    }

    @Test func everyRegisteredOrganisationReadsTheCheckpointAndTiles() throws {
        try Data([0, 1, 0x41]).write(to: URL(fileURLWithPath: published + "/tile/entries/000.p/1"))
        for org in ["A81001", "YOI123"] {
            let session = try relay.session(org)
            #expect(read(session, "/directory/checkpoint") == Array("a checkpoint\n".utf8))
            #expect(read(session, "directory/tile/entries/000.p/1") == [0, 1, 0x41])
            guard case .attrs(_, let attributes) = session.request({ .stat(id: $0, path: "/directory/checkpoint") })
            else {
                Issue.record("stat refused")
                return
            }
            #expect(attributes.size == 13)
            session.end()
        }
    }

    @Test func nothingCanBeChangedThere() throws {
        let session = try relay.session("A81001")
        let attempts: [(UInt32) -> SFTPMessage] = [
            {
                .open(
                    id: $0, path: "/directory/.checkpoint.part", flags: [.write, .create, .exclusive],
                    attributes: SFTPAttributes())
            },
            { .open(id: $0, path: "/directory/checkpoint", flags: [.write, .truncate], attributes: SFTPAttributes()) },
            { .remove(id: $0, path: "/directory/checkpoint") },
            { .rename(id: $0, from: "/directory/checkpoint", to: "/directory/old") },
            { .mkdir(id: $0, path: "/directory/tile/9", attributes: SFTPAttributes()) },
            { .setstat(id: $0, path: "/directory/checkpoint", attributes: SFTPAttributes()) },
            { .opendir(id: $0, path: "/directory") },
            { .symlink(id: $0, linkPath: "/directory/tile/0/000", targetPath: "/A81001") },
            { SFTPExtendedRequest.posixRename(from: "/directory/checkpoint", to: "/A81001/x.ghb").message(id: $0) },
        ]
        for attempt in attempts {
            #expect(session.request(attempt).statusCode?.code == .permissionDenied)
        }
        // Publishing an upload over the checkpoint is refused too.
        let (handle, _) = session.create("/A81001/.forged.part")
        if let handle {
            _ = session.write(handle, Array("forged".utf8))
            _ = session.close(handle)
        }
        #expect(!session.publish("/A81001/.forged.part", "/directory/checkpoint").isOK)
        #expect(FileManager.default.contents(atPath: published + "/checkpoint") == Data("a checkpoint\n".utf8))
        session.end()
    }

    @Test(arguments: [
        "/directory/../A81001/x", "/directory/tile/../../mailboxes/YOI123/in.ghb", "/directory/tile/0/01",
        "/directory/secret", "/directory/tile/entries/000.p/1/..", "/directory/./checkpoint", "directory//../x",
        "/directory/tile/entries/../../../etc/passwd",
    ])
    func onlyTheCheckpointAndCanonicalTilesExist(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: relay.root + "/YOI123", withIntermediateDirectories: true)
        try relay.place("YOI123/in.ghb", "the prison's mail")
        try Data("secret".utf8).write(to: URL(fileURLWithPath: published + "/secret"))
        let session = try relay.session("A81001")
        #expect(read(session, path) == nil, "\(path)")
        #expect(session.request({ .stat(id: $0, path: path) }).statusCode?.code == .permissionDenied, "\(path)")
        session.end()
    }

    @Test func aLinkPlantedForATileIsNotFollowed() throws {
        try FileManager.default.createDirectory(atPath: published + "/tile/0", withIntermediateDirectories: true)
        try relay.place("YOI123/in.ghb", "the prison's mail")
        try FileManager.default.createSymbolicLink(
            atPath: published + "/tile/0/000", withDestinationPath: relay.root + "/YOI123/in.ghb")
        let session = try relay.session("A81001")
        #expect(read(session, "/directory/tile/0/000") == nil)
        session.end()
    }
}

extension DirectoryAreaTests {
    @Test func witnessCosignaturesAreReadableAndNothingElseUnderWitness() throws {
        try FileManager.default.createDirectory(atPath: published + "/witness", withIntermediateDirectories: true)
        try Data("cosigned\n".utf8).write(to: URL(fileURLWithPath: published + "/witness/1a2b3c4d"))
        try Data("other\n".utf8).write(to: URL(fileURLWithPath: published + "/witness/notes"))
        let session = try relay.session("YOI123")
        #expect(read(session, "/directory/witness/1a2b3c4d") == Array("cosigned\n".utf8))
        for path in [
            "/directory/witness/notes", "/directory/witness/1A2B3C4D", "/directory/witness/1a2b3c4d/..",
            "/directory/witness/../checkpoint", "/directory/witness/1a2b3c4",
        ] {
            #expect(read(session, path) == nil, "\(path)")
        }
        #expect(
            session.request({
                .open(
                    id: $0, path: "/directory/witness/.x.part", flags: [.write, .create, .exclusive],
                    attributes: SFTPAttributes())
            }).statusCode?.code == .permissionDenied)
        session.end()
    }
}
