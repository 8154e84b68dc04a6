import Foundation
import Glibc
import GatehouseKit
import GatehouseSFTP
import GatehouseSFTPClient
import GatehouseTesting
import Testing

/// Seal while uploading: a bundle file still being written is sent as it grows, stays under its
/// temporary name until its producer releases it, and leaves nothing when the producer gives up.
@Suite("SFTP upload of a file still being written", .timeLimit(.minutes(3)))
struct SFTPGrowingUploadTests {
    /// The folder, and the helpers to write files and make random bytes.
    let base: SFTPClientTests
    var folder: TemporaryDirectory { base.folder }

    init() throws { base = try SFTPClientTests() }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String { try base.write(name, bytes) }
    func randomBytes(_ count: Int) -> [UInt8] { base.randomBytes(count) }

    /// A client of OpenSSH's sftp-server (`confined` false) or of `gatehouse sftp-server` for
    /// A81001 uploading into YOI123's mailbox; returns it, the remote folder as the client names
    /// it, and the folder on disk.
    func client(confined: Bool) async throws -> (SFTPClient, remote: String, disk: String) {
        let root = folder.appending("mailboxes")
        for org in ["A81001", "YOI123"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(org)", withIntermediateDirectories: true)
        }
        let client = confined
            ? try await SFTPClient.connect(executable: try GatehouseProcess.binaryPath(),
                                           arguments: ["sftp-server", "--org", "A81001", "--root", root])
            : try await SFTPClient.connect(executable: SFTPClientTests.openSSHServer, arguments: [])
        return (client, confined ? "/YOI123" : "\(root)/YOI123", "\(root)/YOI123")
    }

    /// A local bundle file `name` being written, its progress, and its upload to `remote`.
    func producer(_ client: SFTPClient, _ remote: String, _ name: String) throws
        -> (DurableFile, GrowingFile, Task<UInt64, any Error>) {
        let local = folder.appending(name)
        let file = try DurableFile(path: local, mode: 0o644)
        let growing = GrowingFile()
        growing.begin(temporary: file.temporaryPath, final: local)
        file.onWritten = { growing.advance(to: $0) }
        return (file, growing, Task { try await client.upload(growing: growing, to: remote, as: name) })
    }

    func names(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : -1
    }

    /// Waits (up to a minute) until `condition` holds; false if it never does.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<6000 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test(arguments: [false, true])
    func bytesGoOutAsTheyAreWrittenAndThePublishWaitsForTheRelease(confined: Bool) async throws {
        let (client, remote, disk) = try await client(confined: confined)
        defer { client.connection.close() }
        let bytes = randomBytes(3 * (1 << 20) + 12_345)
        let (file, growing, upload) = try producer(client, remote, "b.ghb")

        // The first 2 MiB (two buffered writes): they reach the relay before the rest exists.
        try bytes[..<(2 << 20)].withUnsafeBytes { try file.writeAll($0) }
        let temporary = { names(disk).filter { $0.hasPrefix(".") } }
        #expect(await eventually { temporary().count == 1 && size("\(disk)/\(temporary()[0])") >= 1 << 20 },
                "no bytes reached the relay while the file was being written")
        #expect(!names(disk).contains("b.ghb"))

        try bytes[(2 << 20)...].withUnsafeBytes { try file.write($0) }
        try file.commit()
        growing.finish(length: UInt64(bytes.count))
        // Complete on the relay, still under the temporary name: nothing published before the release.
        #expect(await eventually { temporary().count == 1 && size("\(disk)/\(temporary()[0])") == Int64(bytes.count) })
        try await Task.sleep(for: .milliseconds(200))
        #expect(names(disk).allSatisfy { $0.hasPrefix(".") }, "published before the producer released it")

        growing.release(publish: true)
        #expect(try await upload.value == UInt64(bytes.count))
        #expect(names(disk) == ["b.ghb"])
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: "\(disk)/b.ghb"))) == bytes)
    }

    /// The producer fails half-way, or finishes but withholds the release (its originals changed,
    /// the journal could not record it): the upload throws and the relay holds nothing at all.
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func aProducerThatGivesUpLeavesNothingOnTheRelay(confined: Bool, finished: Bool) async throws {
        let (client, remote, disk) = try await client(confined: confined)
        defer { client.connection.close() }
        let bytes = randomBytes(1 << 20 + 77)
        let (file, growing, upload) = try producer(client, remote, "c.ghb")
        try bytes.withUnsafeBytes { try file.writeAll($0) }
        #expect(await eventually { names(disk).count == 1 && size("\(disk)/\(names(disk)[0])") >= 1 << 20 })
        if finished {
            try file.commit()
            growing.finish(length: UInt64(bytes.count))
            growing.release(publish: false)
        } else {
            file.discard()
            growing.fail("sealing failed: the disk is full")
        }
        await #expect(throws: SFTPClientError.self) { try await upload.value }
        #expect(names(disk).isEmpty, "left on the relay: \(names(disk))")
        // The session is still usable.
        try await client.upload(try write("e.ghb", [1, 2, 3]), to: remote, as: "e.ghb")
        #expect(names(disk) == ["e.ghb"])
    }

    /// A producer that gives up before it has even created the file: nothing is opened remotely.
    @Test func aBundleNeverBegunIsNeverOpened() async throws {
        let (client, remote, disk) = try await client(confined: true)
        defer { client.connection.close() }
        let growing = GrowingFile()
        let upload = Task { try await client.upload(growing: growing, to: remote, as: "d.ghb") }
        growing.release(publish: false)
        await #expect(throws: SFTPClientError.self) { try await upload.value }
        #expect(names(disk).isEmpty)
    }
}
