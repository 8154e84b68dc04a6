import Foundation
import GatehouseSFTP
import GatehouseSFTPClient
import GatehouseTesting
import Testing

/// Requests sent with `sendInOrder` leave in the order they were sent, whatever order their
/// replies are awaited in. The "server" is `tee`: it echoes every packet back (a packet with the
/// request's id, so it answers it) and keeps a copy of the bytes as they went out.
@Suite("requests sent in order", .timeLimit(.minutes(1)))
struct SFTPOrderedSendTests {
    let folder: TemporaryDirectory
    let wire: String
    let connection: SFTPConnection

    init() throws {
        folder = try TemporaryDirectory(prefix: "gatehouse-order")
        wire = folder.appending("wire")
        connection = try SFTPConnection(executable: "/usr/bin/tee", arguments: [wire])
    }

    func write(_ index: Int, id: UInt32) -> [UInt8] {
        SFTPMessage.write(id: id, handle: [1], offset: UInt64(index) * 10, data: [UInt8](repeating: 7, count: 10))
            .encoded()
    }

    /// The offsets of the WRITEs as they went out.
    func offsetsOnTheWire() throws -> [UInt64] {
        var parser = SFTPPacketParser()
        parser.append(Array(FileManager.default.contents(atPath: wire) ?? Data()))
        var offsets: [UInt64] = []
        while let message = try parser.next() {
            if case .write(_, _, let offset, _) = message { offsets.append(offset) }
        }
        return offsets
    }

    @Test func pipelinedWritesLeaveInTheOrderTheyWereSent() async throws {
        defer { connection.close() }
        try await withThrowingTaskGroup(of: SFTPMessage.self) { group in
            for index in 0..<500 {
                let id = connection.makeID()
                let reply = connection.sendInOrder(packet: write(index, id: id), id: id)
                group.addTask { try await reply.value() }
            }
            for try await reply in group {
                guard case .write = reply else { throw SFTPClientError.protocolError("\(reply)") }
            }
        }
        #expect(try offsetsOnTheWire() == (0..<500).map { UInt64($0) * 10 })
    }

    @Test func aReplyThatArrivesBeforeItIsAwaitedIsKeptAndAnEndedSessionFailsTheRest() async throws {
        let id = connection.makeID()
        let early = connection.sendInOrder(packet: write(0, id: id), id: id)
        // Its echo is back long before it is awaited.
        while try offsetsOnTheWire().isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        try await Task.sleep(for: .milliseconds(50))
        guard case .write(id, _, 0, _) = try await early.value() else {
            Issue.record("the early reply was lost")
            return
        }
        connection.close()
        let late = connection.sendInOrder(packet: write(1, id: 999), id: 999)
        await #expect(throws: SFTPClientError.self) { try await late.value() }
    }
}
