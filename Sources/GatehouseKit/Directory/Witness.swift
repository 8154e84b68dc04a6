import Foundation
import GatehouseCrypto
public import GatehouseFormat

/// A witness (DIRECTORY.md §10): it follows a network's log exactly as a gateway does (its own
/// verified copy under `HOME/directory/`), and cosigns a checkpoint only once it has verified
/// that the log grew consistently up to it. Its key lives in `HOME/witness/`.
public struct Witness: Sendable {
    /// The witness's home.
    public let home: GatehouseHome

    /// The witness in `home`.
    public init(home: GatehouseHome) { self.home = home }

    /// `HOME/witness/witness.key` (mode 0600).
    public var keyPath: String { home.path + "/witness/witness.key" }
    /// `HOME/witness/witness.vkey`: the key gateways configure.
    public var publicPath: String { home.path + "/witness/witness.vkey" }

    /// Creates the witness `name` with a new key.
    public static func initialise(home: GatehouseHome, name: String) throws(KitError) -> WitnessKey {
        let witness = Witness(home: home)
        let key = SigningSecretKey.generate()
        let public_: WitnessKey
        do { public_ = try WitnessKey(name: name, key: key.publicKey) } catch { throw .invalidInput(error.detail) }
        try FileOperations.makeDirectory(home.path, mode: 0o700)
        try FileOperations.makeDirectory(home.path + "/witness", mode: 0o700)
        let secret = SecretKeyFile.encode(signing: key, role: .signing)
        try secret.withUnsafeBytes { (bytes) throws(KitError) in
            try FileOperations.createExclusively(at: witness.keyPath, contents: bytes, mode: 0o600)
        }
        try FileOperations.createExclusively(
            at: witness.publicPath, contents: Array((public_.text + "\n").utf8), mode: 0o644)
        return public_
    }

    /// The witness's public key.
    public func publicKey() throws(KitError) -> WitnessKey {
        guard let bytes = try FileOperations.read(at: publicPath, limit: 4096) else {
            throw .notInitialised(
                "\(home.path) is no witness (no \(publicPath)); run `gatehouse network witness init --name NAME`",
                path: publicPath)
        }
        do {
            return try WitnessKey.parse(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines))
        } catch {
            throw .keyFileInvalid("\(publicPath): \(error.detail)", path: publicPath)
        }
    }

    /// What cosigning did.
    public enum Cosigning: Sendable, Equatable {
        /// The checkpoint of `size` entries was verified and cosigned into `source`.
        case cosigned(size: UInt64)
        /// The checkpoint was refused (rollback, fork, unverifiable): nothing was cosigned.
        case refused(DirectoryMirror.Refusal, evidence: String)
    }

    /// Follows the log published in `source` (pinning `card` the first time) and, when it grew
    /// consistently, writes the checkpoint with this witness's cosignature to `source/witness/ID`.
    public func cosign(
        card: NetworkCard?, source: TileFolder, now: UInt64 = KeyStore.now()
    ) throws(KitError) -> Cosigning {
        let witness = try publicKey()
        let client = DirectoryClient(home: home)
        if let card { try client.join(card) }
        switch try client.sync(from: source, now: now) {
        case .refused(let refusal, let evidence): return .refused(refusal, evidence: evidence)
        case .unwitnessed: throw .invalidInput("a witness does not itself require witnesses (\(client.witnessesPath))")
        case .updated: break
        }
        guard let mirror = try client.mirror(), let note = mirror.checkpoint, let body = mirror.body else {
            throw .io("nothing to cosign: \(source.path) has no checkpoint")
        }
        // The same gate as `add-checkpoint`, with a proof from the latest checkpoint cosigned
        // (perhaps over HTTP) made from the verified entries: one rule against rollbacks and forks.
        let latest = try latest()?.0.size ?? 0
        guard latest <= body.size else {
            throw .invalidInput(
                "this witness already cosigned a checkpoint of \(latest) entries; \(source.path) serves \(body.size)")
        }
        let request: AddCheckpointRequest
        do {
            request = try AddCheckpointRequest(
                oldSize: latest, proof: try mirror.log.tree.consistencyProof(from: latest, to: body.size),
                checkpoint: note.bytes)
        } catch { throw .invalidInput(error.detail) }
        switch try addCheckpoint(request.bytes, now: now) {
        case .cosigned(let line, let size):
            try source.writeWitness(witness, note.adding(line).bytes)
            return .cosigned(size: size)
        case let refused:
            throw .invalidCard("the witness refused the checkpoint of \(body.size) entries (HTTP \(refused.status)): "
                + refused.reason, path: latestPath)
        }
    }

    /// The witness's secret key, checked against its public key.
    func secretKey(for witness: WitnessKey) throws(KitError) -> SigningSecretKey {
        guard
            let key = try SecretKeyReader.read(
                at: keyPath,
                { (bytes) throws(FormatError) in
                    try SecretKeyFile.decodeSigningKey(bytes, role: .signing)
                }), key.publicKey == witness.key
        else { throw .keyFileInvalid("\(keyPath) is missing or is not the witness's key", path: keyPath) }
        return key
    }
}
