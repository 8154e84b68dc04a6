import Foundation
import Glibc
import GatehouseKit
import GatehouseSFTP
import GatehouseSFTPClient
import GatehouseTesting
import Testing

/// Our SFTP client against OpenSSH's own `sftp-server` (run over pipes, no sshd needed) and
/// against `gatehouse sftp-server`.
@Suite("SFTP client against real servers", .timeLimit(.minutes(3)))
struct SFTPClientTests {
    static let openSSHServer = "/usr/lib/openssh/sftp-server"
    let folder: TemporaryDirectory

    init() throws { folder = try TemporaryDirectory() }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = folder.appending(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Incompressible bytes, quickly (megabytes of them).
    func randomBytes(_ count: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: count) { buffer, initialised in
            if count > 0 { arc4random_buf(buffer.baseAddress!, count) }
            initialised = count
        }
    }

    @Test func uploadListDownloadRemoveWithOpenSSHServer() async throws {
        let remote = folder.appending("remote")
        try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
        let client = try await SFTPClient.connect(executable: Self.openSSHServer, arguments: [])
        defer { client.connection.close() }
        #expect(client.connection.serverExtensions.contains { $0.name == SFTP.Extension.posixRename })
        #expect(client.connection.serverExtensions.contains { $0.name == SFTP.Extension.fsync })
        // Several MB: many pipelined WRITEs, replies in any order.
        let bytes = randomBytes(3_000_000 + 17)
        let size = try await client.upload(try write("big.ghb", bytes), to: remote, as: "big.ghb")
        #expect(size == UInt64(bytes.count))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: "\(remote)/big.ghb"))) == bytes)
        // No temporary file left, nothing partial visible.
        #expect(try FileManager.default.contentsOfDirectory(atPath: remote) == ["big.ghb"])
        #expect(try await client.list(remote).map(\.filename) == ["big.ghb"])
        try await client.download("\(remote)/big.ghb", to: folder.appending("back.ghb"))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: folder.appending("back.ghb")))) == bytes)
        try await client.remove("\(remote)/big.ghb")
        #expect(try await client.list(remote).isEmpty)
        await #expect(throws: SFTPClientError.self) { try await client.stat("\(remote)/big.ghb") }
    }

    /// Open while downloading: a reader following the download's progress (on a thread of its
    /// own, as the gateway's opener does) reads exactly the file, never a short read, though the
    /// download coalesces its writes (the bench found a reader ahead of the bytes on disk).
    @Test func aFollowerReadsADownloadAsItIsWrittenByteForByte() async throws {
        let remote = folder.appending("remote")
        try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
        let bytes = randomBytes(5_000_000 + 3)
        _ = try write("remote/big.ghb", bytes)
        let client = try await SFTPClient.connect(executable: Self.openSSHServer, arguments: [])
        defer { client.connection.close() }
        let progress = GrowingFile()
        let read: [UInt8] = try await withCheckedThrowingContinuation { done in
            Thread {
                let source = FollowingSource(progress)
                var all: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 70_000)
                done.resume(with: Result {
                    while true {
                        let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
                        if n == 0 { return all }
                        all += chunk[..<n]
                    }
                })
            }.start()
            Task { try? await client.download("\(remote)/big.ghb", to: folder.appending("back.ghb"), progress: progress) }
        }
        #expect(read == bytes)
        #expect(progress.progress.length == UInt64(bytes.count))
        // A download that fails makes the follower throw rather than end early.
        let failed = GrowingFile()
        Task { try? await client.download("\(remote)/none.ghb", to: folder.appending("none.ghb"), progress: failed) }
        #expect(throws: (any Error).self) {
            var byte = [UInt8](repeating: 0, count: 1)
            _ = try byte.withUnsafeMutableBytes { try FollowingSource(failed).read(into: $0) }
        }
    }

    /// A mailbox name is whoever wrote it's: "/YOI123/\u{301}big.ghb" has no Character "/"
    /// before the name (the slash and the mark are one), and the refusal named the whole path.
    @Test func aTooLargeItemIsNamedByTheBytesAfterTheLastSlash() async throws {
        let remote = folder.appending("remote")
        try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
        let name = "\u{301}big.ghb"
        _ = try write("remote/\(name)", randomBytes(100))
        let client = try await SFTPClient.connect(executable: Self.openSSHServer, arguments: [])
        defer { client.connection.close() }
        do {
            try await client.download("\(remote)/\(name)", to: folder.appending("back.ghb"), maxBytes: 10)
            Issue.record("a file over the limit was downloaded")
        } catch let tooLarge as MailboxItemTooLarge {
            #expect(Array(tooLarge.name.utf8) == Array(name.utf8), "\(tooLarge.name.debugDescription)")
            #expect(tooLarge.size == 100)
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appending("back.ghb")))
    }

    /// Pipelined READs written in order, at every size around the READ length, from both servers.
    @Test(arguments: [false, true])
    func downloadsOfEverySizeArriveWhole(confined: Bool) async throws {
        let root = folder.appending("mailboxes")
        try FileManager.default.createDirectory(atPath: "\(root)/A81001", withIntermediateDirectories: true)
        let client = confined
            ? try await SFTPClient.connect(executable: try GatehouseProcess.binaryPath(), arguments: ["sftp-server", "--org", "A81001", "--root", root])
            : try await SFTPClient.connect(executable: Self.openSSHServer, arguments: [])
        defer { client.connection.close() }
        let chunk = client.readLength
        for size in [0, 1, chunk - 1, chunk, chunk + 1, 3 * chunk, 17 * chunk + 5] {
            let bytes = randomBytes(size)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(root)/A81001/f\(size).ghb"))
            let remote = confined ? "/A81001/f\(size).ghb" : "\(root)/A81001/f\(size).ghb"
            try await client.download(remote, to: folder.appending("back\(size)"))
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: folder.appending("back\(size)")))) == bytes, "size \(size)")
        }
        // Gone, or a folder: refused, nothing left behind locally.
        await #expect(throws: SFTPClientError.self) { try await client.download(confined ? "/A81001/none" : "\(root)/none", to: folder.appending("none")) }
        #expect(!FileManager.default.fileExists(atPath: folder.appending("none")))
    }

    /// OpenSSH's server answers a READ of more than about 255 KiB with less: the client asks
    /// for the rest and still writes every byte in order.
    @Test func shortReadsAreFollowedByReadsForTheRest() async throws {
        var client = try await SFTPClient.connect(executable: Self.openSSHServer, arguments: [])
        defer { client.connection.close() }
        client.readLength = 1 << 20
        let bytes = randomBytes(5_000_000 + 3)
        let path = try write("short.ghb", bytes)
        try await client.download(path, to: folder.appending("short-back"))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: folder.appending("short-back")))) == bytes)
    }

    @Test func listingPagesPastOneHundredNames() async throws {
        let remote = folder.appending("many")
        try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
        for i in 0..<250 { try Data([UInt8(i % 256)]).write(to: URL(fileURLWithPath: "\(remote)/f\(i).ghb")) }
        let client = try await SFTPClient.connect(executable: Self.openSSHServer, arguments: [])
        defer { client.connection.close() }
        #expect(try await client.list(remote).count == 250)
    }

    @Test func confinedServerAcceptsTheClientAndRefusesOverwrites() async throws {
        let root = folder.appending("mailboxes")
        for org in ["A81001", "YOI123"] { try FileManager.default.createDirectory(atPath: "\(root)/\(org)", withIntermediateDirectories: true) }
        let client = try await SFTPClient.connect(executable: try GatehouseProcess.binaryPath(),
                                                  arguments: ["sftp-server", "--org", "A81001", "--root", root])
        defer { client.connection.close() }
        let local = try write("b.ghb", randomBytes(100_000))
        try await client.upload(local, to: "/YOI123", as: "b.ghb")
        #expect(FileManager.default.fileExists(atPath: "\(root)/YOI123/b.ghb"))
        // The same name again: refused, the first copy untouched, the temporary file removed.
        let other = try write("c.ghb", randomBytes(10))
        await #expect(throws: SFTPClientError.self) { try await client.upload(other, to: "/YOI123", as: "b.ghb") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(root)/YOI123") == ["b.ghb"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(root)/YOI123/b.ghb")).count == 100_000)
        // Its own mailbox: list, read, remove.
        try Data("for A".utf8).write(to: URL(fileURLWithPath: "\(root)/A81001/in.ghb"))
        #expect(try await client.list("/A81001").map(\.filename) == ["in.ghb"])
        try await client.download("/A81001/in.ghb", to: folder.appending("in.ghb"))
        try await client.remove("/A81001/in.ghb")
        await #expect(throws: SFTPClientError.self) { try await client.list("/YOI123") }
    }

    @Test func aDeadServerFailsEveryWaitingRequest() async throws {
        // A program that never answers: requests wait until it goes away.
        let connection = try SFTPConnection(executable: "/bin/sleep", arguments: ["600"])
        let waiting = (0..<5).map { _ in Task { try await connection.request { .stat(id: $0, path: "/") } } }
        try await Task.sleep(for: .milliseconds(200))
        kill(connection.processIdentifier, SIGKILL)
        for request in waiting {
            await #expect(throws: SFTPClientError.self) { _ = try await request.value }
        }
        // And a request after the end fails at once.
        await #expect(throws: SFTPClientError.self) { _ = try await connection.request { .stat(id: $0, path: "/") } }
    }
}
