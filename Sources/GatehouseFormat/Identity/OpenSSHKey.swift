public import GatehouseCrypto

/// Ed25519 keys in OpenSSH's encodings (FORMAT.md §7): the one-line public key
/// `ssh-ed25519 BASE64` (RFC 8709), its `SHA256:` fingerprint as `ssh-keygen -l` prints it, and
/// the unencrypted `openssh-key-v1` private key file that `ssh -i` reads.
///
/// Gatehouse uses Ed25519 only, for the organisations' SSH keys and for pinned relay host keys.
public enum OpenSSHKey {
    /// The key type name.
    public static let type = "ssh-ed25519"

    /// The wire blob: string "ssh-ed25519", string key.
    static func blob(_ key: SigningPublicKey) -> [UInt8] {
        var out = ByteBuilder()
        out.sshString(Array(type.utf8))
        out.sshString(key.bytes)
        return out.bytes
    }

    /// `ssh-ed25519 BASE64`.
    public static func publicLine(_ key: SigningPublicKey) -> String { "\(type) \(Base64.encode(blob(key)))" }

    /// The fingerprint OpenSSH shows: `SHA256:` and the unpadded base64 of the blob's SHA-256.
    public static func fingerprint(_ key: SigningPublicKey) -> String {
        let digest = SHA256Hasher.hash(blob(key))
        return "SHA256:" + Base64.encode(digest.bytes).filter { $0 != "=" }
    }

    /// Parses `ssh-ed25519 BASE64` (exactly two words) into the key, strictly: canonical base64,
    /// the type repeated inside the blob, 32 key bytes and nothing after them.
    public static func parsePublic(_ text: some StringProtocol) throws(FormatError) -> SigningPublicKey {
        let words = String(text).splitBytes(UInt8(ascii: " "))
        guard words.count == 2 else { throw .malformed("expected '\(type) BASE64', a one-line OpenSSH Ed25519 public key") }
        guard words[0].sameBytes(type) else { throw .malformed("key type '\(words[0])' is not \(type) (Gatehouse pins Ed25519 keys only)") }
        guard let blob = Base64.decode(words[1]) else { throw .malformed("the \(type) key is not canonical base64") }
        var cursor = ByteCursor(blob)
        guard let name = cursor.sshString(maxLength: 64), name == Array(type.utf8),
              let key = cursor.sshString(maxLength: 64), key.count == SigningPublicKey.length, cursor.remaining == 0,
              let parsed = try? SigningPublicKey(bytes: key) else {
            throw .malformed("the \(type) key blob is not a 32-byte Ed25519 key")
        }
        return parsed
    }

    /// The text of an unencrypted OpenSSH private key file for `key` (PROTOCOL.key in OpenSSH),
    /// ready for `ssh -i`. It holds the secret, so it is built in ``SecretBytes``.
    public static func privateKeyFile(_ key: borrowing SigningSecretKey, comment: String) -> SecretBytes {
        let publicBlob = blob(key.publicKey)
        let check = UInt32.random(in: 0...UInt32.max)
        // The private section: two equal check words, the key, the comment, then padding
        // 1, 2, 3, … to a multiple of 8 (the "none" cipher's block size).
        var sectionLength = 8 + 4 + type.utf8.count + 4 + 32 + 4 + 64 + 4 + comment.utf8.count
        let padding = (8 - sectionLength % 8) % 8
        sectionLength += padding
        var header = ByteBuilder()
        header.raw(Array("openssh-key-v1".utf8) + [0])
        header.sshString(Array("none".utf8))
        header.sshString(Array("none".utf8))
        header.sshString([])
        header.u32(1)
        header.sshString(publicBlob)
        header.u32(UInt32(sectionLength))
        var section = ByteBuilder()
        section.u32(check)
        section.u32(check)
        section.sshString(Array(type.utf8))
        section.sshString(key.publicKey.bytes)
        section.u32(64)
        let beforeSecret = section.bytes
        var after = ByteBuilder()
        after.sshString(Array(comment.utf8))
        after.raw((0..<padding).map { UInt8($0 + 1) })
        let prefix = header.bytes + beforeSecret
        let suffix = after.bytes
        let binaryLength = prefix.count + 64 + suffix.count
        var binary = SecretBytes(zeroedCount: binaryLength)
        binary.withUnsafeMutableBytes { out in
            out.copyBytes(from: prefix)
            // libsodium's 64-byte secret key: seed then public key.
            key.withSeed { seed in UnsafeMutableRawBufferPointer(rebasing: out[prefix.count..<(prefix.count + 32)]).copyMemory(from: seed) }
            UnsafeMutableRawBufferPointer(rebasing: out[(prefix.count + 32)..<(prefix.count + 64)]).copyBytes(from: key.publicKey.bytes)
            UnsafeMutableRawBufferPointer(rebasing: out[(prefix.count + 64)...]).copyBytes(from: suffix)
        }
        // Armour: base64 in lines of 70 characters, as ssh-keygen writes it.
        let begin = Array("-----BEGIN OPENSSH PRIVATE KEY-----\n".utf8)
        let end = Array("-----END OPENSSH PRIVATE KEY-----\n".utf8)
        let encodedLength = Base64.encodedLength(of: binaryLength)
        let lines = (encodedLength + 69) / 70
        var text = SecretBytes(zeroedCount: begin.count + encodedLength + lines + end.count)
        var encoded = SecretBytes(zeroedCount: encodedLength)
        binary.withUnsafeBytes { bin in encoded.withUnsafeMutableBytes { Base64.encode(bin, into: $0) } }
        encoded.withUnsafeBytes { b64 in
            text.withUnsafeMutableBytes { out in
                out.copyBytes(from: begin)
                var at = begin.count
                for start in stride(from: 0, to: encodedLength, by: 70) {
                    let line = UnsafeRawBufferPointer(rebasing: b64[start..<min(start + 70, encodedLength)])
                    UnsafeMutableRawBufferPointer(rebasing: out[at..<(at + line.count)]).copyMemory(from: line)
                    at += line.count
                    out[at] = UInt8(ascii: "\n")
                    at += 1
                }
                UnsafeMutableRawBufferPointer(rebasing: out[at...]).copyBytes(from: end)
            }
        }
        return text
    }
}

extension ByteBuilder {
    /// An SSH `string`: a 32-bit big-endian length, then the bytes.
    mutating func sshString(_ value: [UInt8]) {
        u32(UInt32(value.count))
        raw(value)
    }
}

extension ByteCursor {
    /// An SSH `string` of at most `maxLength` bytes, or nil.
    mutating func sshString(maxLength: Int) -> [UInt8]? {
        guard let length = u32(), Int(length) <= maxLength else { return nil }
        return raw(Int(length))
    }
}
