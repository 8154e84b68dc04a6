public import GatehouseCrypto

/// What a secret key is for (FORMAT.md §6); each role has exactly one algorithm.
public enum SecretKeyRole: String, Sendable, CaseIterable {
    /// The organisation root key (Ed25519), which signs identity cards.
    case root
    /// An operational signing key (Ed25519), which signs bundles and receipts.
    case signing
    /// An encryption key (X25519), which unwraps content keys.
    case encryption

    /// `ed25519` or `x25519`.
    public var algorithm: String { self == .encryption ? "x25519" : "ed25519" }
}

/// The one-line text of a secret key file (FORMAT.md §6):
/// `gatehouse-secret-key-v1 ROLE ALG KEYID BASE64SECRET` followed by LF.
///
/// Only the encoding lives here; creating, permission-checking and reading the files is the
/// key store's job. The line holds a secret, so it is built in and read from ``SecretBytes``
/// and never becomes a `String`.
public enum SecretKeyFile {
    /// The first word of every version 1 key file.
    public static let magic = "gatehouse-secret-key-v1"
    /// Length of the secret: an Ed25519 seed or an X25519 scalar.
    public static let secretLength = 32
    /// Longest valid file, in bytes; a reader reads at most one byte more and refuses the rest.
    public static let maxLength = 128

    /// The file contents for a root or signing key.
    public static func encode(signing key: borrowing SigningSecretKey, role: SecretKeyRole) -> SecretBytes {
        precondition(role != .encryption, "an Ed25519 key cannot have the encryption role")
        var line = SecretBytes(zeroedCount: length(role: role))
        key.withSeed { encode(role: role, id: KeyID(signing: key.publicKey), secret: $0, into: &line) }
        return line
    }

    /// The file contents for an encryption key.
    public static func encode(encryption key: borrowing AgreementSecretKey) -> SecretBytes {
        var line = SecretBytes(zeroedCount: length(role: .encryption))
        key.withSecretBytes { encode(role: .encryption, id: KeyID(agreement: key.publicKey), secret: $0, into: &line) }
        return line
    }

    private static func prefix(role: SecretKeyRole, id: KeyID) -> [UInt8] {
        Array("\(magic) \(role.rawValue) \(role.algorithm) \(id.hex) ".utf8)
    }

    private static func length(role: SecretKeyRole) -> Int {
        prefix(role: role, id: try! KeyID(bytes: [UInt8](repeating: 0, count: KeyID.length))).count
            + Base64.encodedLength(of: secretLength) + 1
    }

    private static func encode(role: SecretKeyRole, id: KeyID, secret: UnsafeRawBufferPointer, into line: inout SecretBytes) {
        let prefix = prefix(role: role, id: id)
        let encoded = Base64.encodedLength(of: secret.count)
        precondition(secret.count == secretLength && line.count == prefix.count + encoded + 1)
        line.withUnsafeMutableBytes { out in
            out.copyBytes(from: prefix)
            Base64.encode(secret, into: UnsafeMutableRawBufferPointer(rebasing: out[prefix.count..<(prefix.count + encoded)]))
            out[out.count - 1] = UInt8(ascii: "\n")
        }
    }

    /// Reads a root or signing key file and checks that its key id matches the derived public key.
    public static func decodeSigningKey(_ contents: UnsafeRawBufferPointer, role: SecretKeyRole) throws(FormatError) -> SigningSecretKey {
        var seed = SecretBytes(zeroedCount: secretLength)
        let id = try decode(contents, role: role, into: &seed)
        let key: SigningSecretKey
        do { key = try SigningSecretKey(seed: seed) } catch { throw .malformed(error.message) }
        try check(id, KeyID(signing: key.publicKey))
        return key
    }

    /// Reads an encryption key file and checks that its key id matches the derived public key.
    public static func decodeEncryptionKey(_ contents: UnsafeRawBufferPointer) throws(FormatError) -> AgreementSecretKey {
        var secret = SecretBytes(zeroedCount: secretLength)
        let id = try decode(contents, role: .encryption, into: &secret)
        let key: AgreementSecretKey
        do { key = try AgreementSecretKey(secret: secret) } catch { throw .malformed(error.message) }
        try check(id, KeyID(agreement: key.publicKey))
        return key
    }

    private static func check(_ stated: KeyID, _ derived: KeyID) throws(FormatError) {
        // A mismatch means the file was edited or mixed up with another key's file.
        guard stated == derived else {
            throw .malformed("the key id \(stated.hex) in the file does not match its key (whose id is \(derived.hex))")
        }
    }

    /// Splits the line, checks the public words and decodes the secret straight into wiped storage.
    private static func decode(_ contents: UnsafeRawBufferPointer, role: SecretKeyRole, into secret: inout SecretBytes) throws(FormatError) -> KeyID {
        guard contents.count <= maxLength, contents.last == UInt8(ascii: "\n") else {
            throw .malformed("not a Gatehouse secret key file (expected one line ending with a line feed)")
        }
        var spaces: [Int] = []
        for i in 0..<(contents.count - 1) where contents[i] == UInt8(ascii: " ") { spaces.append(i) }
        guard spaces.count == 4 else { throw .malformed("not a Gatehouse secret key file (expected 5 words)") }
        let words = [0, 1, 2, 3].map { i in
            String(decoding: UnsafeRawBufferPointer(rebasing: contents[(i == 0 ? 0 : spaces[i - 1] + 1)..<spaces[i]]), as: UTF8.self)
        }
        guard words[0].sameBytes(magic) else { throw .malformed("not a Gatehouse secret key file (it does not start with '\(magic)')") }
        guard words[1].sameBytes(role.rawValue) else { throw .malformed("the file holds a '\(words[1])' key, not a '\(role.rawValue)' key") }
        guard words[2].sameBytes(role.algorithm) else { throw .malformed("a \(role.rawValue) key must be \(role.algorithm), not '\(words[2])'") }
        let id = try KeyID(hex: words[3])
        let encoded = UnsafeRawBufferPointer(rebasing: contents[(spaces[3] + 1)..<(contents.count - 1)])
        let written = secret.withUnsafeMutableBytes { Base64.decode(encoded, into: $0) }
        guard written == secretLength, encoded.count == Base64.encodedLength(of: secretLength) else {
            throw .malformed("the secret is not canonical base64 of \(secretLength) bytes")
        }
        return id
    }
}
