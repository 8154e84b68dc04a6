public import GatehouseCrypto

/// A signed-note key: a name, a 32-bit key id and an Ed25519 public key (C2SP signed-note,
/// DIRECTORY.md §3). Its text form, the *verifier key*, is `NAME+HEXID+BASE64(0x01 || key)`.
public struct NoteVerifierKey: Hashable, Sendable {
    /// The signature type byte of Ed25519 in signed notes.
    public static let ed25519Type: UInt8 = 0x01
    /// Longest key name this code makes or accepts in a verifier key, in bytes.
    public static let maxNameLength = 256

    /// The key name, which is also the name on its signature lines.
    public let name: String
    /// SHA-256(name || 0x0A || 0x01 || key)[:4], big-endian.
    public let keyID: UInt32
    /// The Ed25519 public key.
    public let key: SigningPublicKey

    /// The verifier for `key` under `name`; throws `invalidInput` for a name signed notes forbid.
    public init(name: String, key: SigningPublicKey) throws(FormatError) {
        try Self.validateName(name)
        self.name = name
        self.key = key
        self.keyID = Self.keyID(name: name, key: key)
    }

    /// The recommended key id: the first four bytes of SHA-256(name || LF || 0x01 || key).
    public static func keyID(name: String, key: SigningPublicKey) -> UInt32 {
        let digest = SHA256Hasher.hash(Array(name.utf8) + [0x0A, ed25519Type] + key.bytes).bytes
        return digest.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Checks a key name: non-empty, at most ``maxNameLength`` bytes, no Unicode space, no `+`,
    /// no control character (signed-note §Format).
    public static func validateName(_ name: String) throws(FormatError) {
        let scalars = name.unicodeScalars
        guard !scalars.isEmpty, name.utf8.count <= maxNameLength,
            !scalars.contains(where: { $0.properties.isWhitespace || $0 == "+" || $0.value < 0x20 || $0.value == 0x7F })
        else {
            throw .invalidInput(
                "\(name.debugDescription) is not a signed-note key name (1 to \(maxNameLength) bytes, no spaces or '+')"
            )
        }
    }

    /// `NAME+HEXID+BASE64(0x01 || key)`.
    public var text: String {
        let id = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: keyID >> UInt32($0)) }.hexString
        return "\(name)+\(id)+\(Base64.encode([Self.ed25519Type] + key.bytes))"
    }

    /// Parses a verifier key, refusing any other algorithm, a key id that does not match the
    /// name and key, and non-canonical hex or base64.
    public static func parse(_ text: String) throws(FormatError) -> NoteVerifierKey {
        // The name and the hex id hold no "+", but the base64 key may: split at the first two only.
        let parts = text.splitBytes(UInt8(ascii: "+"), maxSplits: 2)
        guard parts.count == 3 else { throw .malformed("verifier key: not NAME+KEYID+KEY") }
        let name = String(parts[0])
        guard (try? validateName(name)) != nil else {
            throw .malformed("verifier key: bad key name \(name.debugDescription)")
        }
        guard parts[1].utf8.count == 8, let id = [UInt8](hex: parts[1]), parts[1].sameBytes(id.hexString) else {
            throw .malformed("verifier key: the key id is not 8 lower-case hex digits")
        }
        guard let material = Base64.decode(parts[2]), material.count == 1 + SigningPublicKey.length,
            material[0] == ed25519Type, let key = try? SigningPublicKey(bytes: Array(material.dropFirst()))
        else { throw .malformed("verifier key: not an Ed25519 key (type 0x01 and 32 bytes)") }
        let verifier = try NoteVerifierKey(name: name, key: key)
        guard verifier.keyID == id.reduce(0, { $0 << 8 | UInt32($1) }) else {
            throw .malformed("verifier key: the key id does not match the name and key")
        }
        return verifier
    }
}
