public import GatehouseCrypto

/// A secret key file sealed under a passphrase (FORMAT.md §6), for the root key kept offline:
///
///     gatehouse-protected-key-v1 ROLE ALG KEYID argon2id13 PASSES MEMKIB SALT NONCE SEALED
///
/// `SALT`, `NONCE` and `SEALED` are canonical base64; `SEALED` is the 32-byte seed encrypted with
/// XChaCha20-Poly1305 under the Argon2id key, with every word before it as associated data, so
/// no word can be changed without the passphrase failing.
public enum ProtectedKeyFile {
    public static let magic = "gatehouse-protected-key-v1"
    public static let maxLength = 512

    /// True when `contents` starts like a protected key file.
    public static func isProtected(_ contents: [UInt8]) -> Bool { contents.starts(with: Array((magic + " ").utf8)) }

    /// The file contents for a root or signing key sealed under `passphrase`.
    public static func encode(signing key: borrowing SigningSecretKey, role: SecretKeyRole, passphrase: borrowing SecretBytes,
                              cost: PassphraseSeal.Cost = .interactive) throws(FormatError) -> [UInt8] {
        precondition(role != .encryption)
        var seed = SecretBytes(zeroedCount: SigningSecretKey.seedLength)
        key.withSeed { source in seed.withUnsafeMutableBytes { $0.copyMemory(from: source) } }
        let prefix = "\(magic) \(role.rawValue) \(role.algorithm) \(KeyID(signing: key.publicKey).hex) argon2id13 \(cost.operations) \(cost.memoryKiB)"
        let sealed: (salt: [UInt8], nonce: [UInt8], sealed: [UInt8])
        do {
            sealed = try PassphraseSeal.seal(seed, passphrase: passphrase, cost: cost) { salt, nonce in
                Array("\(prefix) \(Base64.encode(salt)) \(Base64.encode(nonce))".utf8)
            }
        } catch { throw .invalidInput(error.message) }
        return Array("\(prefix) \(Base64.encode(sealed.salt)) \(Base64.encode(sealed.nonce)) \(Base64.encode(sealed.sealed))\n".utf8)
    }

    /// Opens a protected root or signing key file; `authenticationFailed` for a wrong passphrase.
    public static func decodeSigningKey(_ contents: [UInt8], role: SecretKeyRole, passphrase: borrowing SecretBytes) throws(FormatError) -> SigningSecretKey {
        guard contents.count <= maxLength, contents.last == UInt8(ascii: "\n"), let text = String(validating: contents.dropLast(), as: UTF8.self) else {
            throw .malformed("not a protected Gatehouse key file (expected one line ending with a line feed)")
        }
        let words = text.splitBytes(UInt8(ascii: " ")).map(String.init)
        guard words.count == 10, words[0].sameBytes(magic) else { throw .malformed("not a protected Gatehouse key file (expected 10 words starting with '\(magic)')") }
        guard words[1].sameBytes(role.rawValue), words[2].sameBytes(role.algorithm) else { throw .malformed("the file holds a '\(words[1]) \(words[2])' key, not a '\(role.rawValue)' key") }
        let id = try KeyID(hex: words[3])
        guard words[4].sameBytes("argon2id13"), let passes = decimal(words[5]), let memory = decimal(words[6]) else {
            throw .malformed("unknown passphrase scheme '\(words[4]) \(words[5]) \(words[6])' (expected argon2id13 PASSES MEMKIB in decimal)")
        }
        let cost = PassphraseSeal.Cost(operations: passes, memoryKiB: memory)
        guard cost.isAcceptable else { throw .malformed("Argon2id limits out of range (\(passes) passes, \(memory) KiB)") }
        guard let salt = Base64.decode(words[7]), let nonce = Base64.decode(words[8]), let sealed = Base64.decode(words[9]) else {
            throw .malformed("salt, nonce or sealed key is not canonical base64")
        }
        // Checked before Argon2id runs: a wrong shape is a damaged file, not a wrong passphrase.
        guard salt.count == PassphraseSeal.saltLength, nonce.count == PassphraseSeal.nonceLength,
              sealed.count == SigningSecretKey.seedLength + PassphraseSeal.tagLength else {
            throw .malformed("salt, nonce or sealed key has the wrong length (16, 24 and 48 bytes)")
        }
        let seed: SecretBytes
        do {
            seed = try PassphraseSeal.open(sealed, passphrase: passphrase, salt: salt, nonce: nonce, cost: cost,
                                           associatedData: Array(words[0..<9].joined(separator: " ").utf8))
        } catch { throw .authenticationFailed(error.message) }
        guard seed.count == SigningSecretKey.seedLength else { throw .malformed("the sealed key is not a 32-byte seed") }
        let key: SigningSecretKey
        do { key = try SigningSecretKey(seed: seed) } catch { throw .malformed(error.message) }
        guard KeyID(signing: key.publicKey) == id else { throw .malformed("key id \(id.hex) does not match the key") }
        return key
    }

    /// A decimal number in its one spelling: digits only, no sign, no leading zero.
    private static func decimal(_ text: String) -> UInt64? {
        guard text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), text.utf8.first != UInt8(ascii: "0") else { return nil }
        return UInt64(text)
    }
}
