import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseNotify
import GatehouseTesting
import GatehouseWitness
import Glibc

/// A witness home that follows a test network, the network's key to sign checkpoints with, and
/// a real witness server on 127.0.0.1.
struct WitnessFixture {
    static let network = "directory.nhs.example/test"
    let folder: TemporaryDirectory
    let verifier: NoteVerifierKey
    let witness: Witness
    let witnessKey: WitnessKey

    /// A witness with a new key, or (with `keyLabel`) the test key of that label.
    init(keyLabel: String? = nil) throws {
        folder = try TemporaryDirectory()
        verifier = try NoteVerifierKey(name: Self.network, key: Self.key("directory-network-root").publicKey)
        let home = GatehouseHome(path: folder.appending("witness"))
        if let keyLabel {
            let key = try SigningSecretKey(seed: TestOrganisation.testSeed(keyLabel))
            witnessKey = try WitnessKey(name: "witness.nhs.example/test", key: key.publicKey)
            try FileOperations.makeDirectory(home.path, mode: 0o700)
            try FileOperations.makeDirectory(home.path + "/witness", mode: 0o700)
            try SecretKeyFile.encode(signing: key, role: .signing).withUnsafeBytes { (bytes) throws(KitError) in
                try FileOperations.createExclusively(at: home.path + "/witness/witness.key", contents: bytes, mode: 0o600)
            }
            try FileOperations.createExclusively(
                at: home.path + "/witness/witness.vkey", contents: Array((witnessKey.text + "\n").utf8), mode: 0o644)
        } else {
            witnessKey = try Witness.initialise(home: home, name: "witness.nhs.example/w1")
        }
        witness = Witness(home: home)
        try DirectoryClient(home: home).join(NetworkCard(verifier: verifier))
    }

    /// The test key of `label`.
    static func key(_ label: String) -> SigningSecretKey { try! SigningSecretKey(seed: TestOrganisation.testSeed(label)) }

    /// A tree of `size` made-up entries; `variant` makes another history.
    static func tree(_ size: Int, variant: String = "") -> MerkleTree {
        var tree = MerkleTree()
        for i in 0..<size { tree.append(entry: Array("entry \(i)\(variant)\n".utf8)) }
        return tree
    }

    /// The checkpoint of the first `size` entries of `tree`, signed by the test key `signer`
    /// (the network's unless told) under the network's name.
    func checkpoint(_ tree: MerkleTree, size: UInt64, signer: String = "directory-network-root") throws -> SignedNote {
        let body = try Checkpoint(origin: Self.network, size: size, root: tree.root(size: size), time: 1_796_205_600)
        let key = Self.key(signer)
        return try SignedNote.sign(body.text, verifier: try NoteVerifierKey(name: Self.network, key: key.publicKey), key: key)
    }

    /// An add-checkpoint body from `old` to `size` entries of `tree`, with the true proof.
    func request(_ tree: MerkleTree, old: UInt64, size: UInt64) throws -> [UInt8] {
        try AddCheckpointRequest(
            oldSize: old, proof: try tree.consistencyProof(from: old, to: size),
            checkpoint: try checkpoint(tree, size: size).bytes
        ).bytes
    }

    /// Runs `body` with the witness serving on a free loopback port, then stops the server.
    func serving(_ body: (Int) async throws -> Void) async throws {
        let server = try WitnessServer(witness: witness, address: "127.0.0.1:0")
        let (ports, bound) = AsyncStream<Int>.makeStream()
        let task = ServerThread(label: "witness-server").start { try await server.run { port in bound.yield(port) } }
        var next = ports.makeAsyncIterator()
        guard let port = await next.next() else { throw KitError.io("the witness server did not start") }
        do { try await body(port) } catch {
            task.cancel()
            throw error
        }
        task.cancel()
        _ = try? await task.value
    }

    /// Runs blocking `work` on a thread of its own: on the concurrency pool (two threads here) it
    /// would starve the server's handlers while it waits for their answer.
    static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await OwnThread.run("witness-client", work)
    }

    /// POSTs `body` to the server's add-checkpoint with the production client.
    static func post(_ body: [UInt8], port: Int) async throws -> HTTPPost.Answer {
        try await blocking {
            try HTTPPost.send(
                body, to: "http://127.0.0.1:\(port)/add-checkpoint", contentType: "text/plain", timeout: .seconds(10))
        }
    }

    /// `GET path` on a connection closed after the answer, off the pool.
    static func get(_ path: String, port: Int) async throws -> (status: Int, body: String)? {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        let answer = try await raw(Array(request.utf8), port: port)
        guard let split = answer.range(of: "\r\n\r\n"), let code = Int(answer.dropFirst(9).prefix(3)) else { return nil }
        return (code, String(answer[split.upperBound...]))
    }

    /// Sends raw bytes, ends the sending side, and returns everything the server answered
    /// before it closed (empty when it closed without answering).
    static func raw(_ bytes: [UInt8], port: Int) async throws -> String {
        try await blocking { rawBlocking(bytes, port: port) }
    }

    private static func rawBlocking(_ bytes: [UInt8], port: Int) -> String {
        guard let fd = HTTPProbe.connectLoopback(port: port) else { return "" }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        shutdown(fd, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            answer += chunk[..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
