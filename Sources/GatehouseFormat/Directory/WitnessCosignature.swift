public import GatehouseCrypto

/// A witness's cosignature on a checkpoint: C2SP tlog-cosignature v1 with Ed25519 (signature type
/// 0x04, DIRECTORY.md §10). The witness states that, at its timestamp, this is the largest tree
/// consistent with everything it saw of the log.
public struct WitnessKey: Hashable, Sendable {
    /// The signature type byte of timestamped Ed25519 cosignatures.
    public static let type: UInt8 = 0x04
    /// The witness's name (a key name, signed-note §Format).
    public let name: String
    /// SHA-256(name || LF || 0x04 || key)[:4], big-endian.
    public let keyID: UInt32
    /// The witness's Ed25519 key.
    public let key: SigningPublicKey

    /// The witness `name` with `key`; throws `invalidInput` for a name signed notes forbid.
    public init(name: String, key: SigningPublicKey) throws(FormatError) {
        try NoteVerifierKey.validateName(name)
        self.name = name
        self.key = key
        let digest = SHA256Hasher.hash(Array(name.utf8) + [0x0A, Self.type] + key.bytes).bytes
        keyID = digest.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The key id as 8 lower-case hex digits (also the witness's file name in a published log).
    public var keyIDHex: String { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: keyID >> UInt32($0)) }.hexString }

    /// `NAME+HEXID+BASE64(0x04 || key)`.
    public var text: String { "\(name)+\(keyIDHex)+\(Base64.encode([Self.type] + key.bytes))" }

    /// Parses a witness's verifier key strictly (type 0x04, matching id, canonical encodings).
    public static func parse(_ text: String) throws(FormatError) -> WitnessKey {
        let parts = text.splitBytes(UInt8(ascii: "+"), maxSplits: 2)
        guard parts.count == 3, let material = Base64.decode(parts[2]), material.count == 33, material[0] == type,
            let key = try? SigningPublicKey(bytes: Array(material.dropFirst())),
            let witness = try? WitnessKey(name: String(parts[0]), key: key), parts[1].sameBytes(witness.keyIDHex)
        else { throw .malformed("witness key: not NAME+KEYID+BASE64(0x04 || Ed25519 key) with a matching key id") }
        return witness
    }

    /// The message a cosignature signs: `cosignature/v1`, `time T`, then the checkpoint's text.
    static func message(_ text: String, time: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(time)\n\(text)".utf8)
    }

    /// This witness's cosignature line for the checkpoint `text`, made at `time`.
    public static func cosign(
        _ text: String, time: UInt64, witness: WitnessKey,
        key: borrowing SigningSecretKey
    ) throws(FormatError) -> SignedNote.Signature {
        guard key.publicKey == witness.key else { throw .invalidInput("the secret key is not the witness's") }
        guard time <= UInt64(Int64.max) else { throw .invalidInput("a cosignature time beyond 2^63 - 1") }
        let stamp = [56, 48, 40, 32, 24, 16, 8, 0].map { UInt8(truncatingIfNeeded: time >> UInt64($0)) }
        return SignedNote.Signature(
            name: witness.name, keyID: witness.keyID, signature: stamp + key.sign(message(text, time: time)))
    }

    /// The time of this witness's valid cosignature on `note`, nil when it has none. A cosignature
    /// line by this witness that does not verify throws `authenticationFailed`.
    public func cosignedTime(_ note: SignedNote) throws(FormatError) -> UInt64? {
        var time: UInt64?
        for line in note.signatures where line.keyID == keyID && line.name.sameBytes(name) {
            guard line.signature.count == 8 + SigningPublicKey.signatureLength else {
                throw .authenticationFailed("cosignature by \(name): not a timestamp and an Ed25519 signature")
            }
            let stamp = line.signature.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            guard stamp <= UInt64(Int64.max),
                key.isValidSignature(Array(line.signature.dropFirst(8)), for: Self.message(note.text, time: stamp))
            else { throw .authenticationFailed("cosignature by \(name) does not verify") }
            time = max(time ?? 0, stamp)
        }
        return time
    }
}
