import GatehouseCrypto
import GatehouseFormat
import Testing

@Suite("Passphrase-protected key files")
struct ProtectedKeyFileTests {
    var passphrase: SecretBytes { SecretBytes(copying: Array("correct horse battery staple".utf8)) }

    func file() throws -> (SigningPublicKey, [UInt8]) {
        let key = SigningSecretKey.generate()
        return (key.publicKey, try ProtectedKeyFile.encode(signing: key, role: .root, passphrase: passphrase))
    }

    @Test func roundTripAndWrongPassphrase() throws {
        let (key, bytes) = try file()
        #expect(ProtectedKeyFile.isProtected(bytes))
        #expect(try ProtectedKeyFile.decodeSigningKey(bytes, role: .root, passphrase: passphrase).publicKey == key)
        let wrong = SecretBytes(copying: Array("incorrect horse battery staple".utf8))
        #expect(throws: FormatError.self) { try ProtectedKeyFile.decodeSigningKey(bytes, role: .root, passphrase: wrong) }
        #expect(throws: FormatError.self) { try ProtectedKeyFile.decodeSigningKey(bytes, role: .signing, passphrase: passphrase) }
    }

    /// Every word is bound to the sealed key, and out-of-range Argon2id limits (which a file
    /// given with --root-key may carry) are refused, never computed with.
    @Test(arguments: [4, 5, 6])
    func changedWordsAreRefused(word: Int) throws {
        let (_, bytes) = try file()
        var words = String(decoding: bytes.dropLast(), as: UTF8.self).split(separator: " ").map(String.init)
        words[word] = ["0123456789abcdef", "3", "65537"][word - 4]
        let changed = Array((words.joined(separator: " ") + "\n").utf8)
        #expect(throws: FormatError.self) { try ProtectedKeyFile.decodeSigningKey(changed, role: .root, passphrase: passphrase) }
    }

    @Test(arguments: ["18014398509481984", "18446744073709551615", "0", "4"])
    func absurdMemoryLimitsAreMalformedNotACrash(memory: String) throws {
        let (_, bytes) = try file()
        var words = String(decoding: bytes.dropLast(), as: UTF8.self).split(separator: " ").map(String.init)
        words[6] = memory
        let changed = Array((words.joined(separator: " ") + "\n").utf8)
        do {
            _ = try ProtectedKeyFile.decodeSigningKey(changed, role: .root, passphrase: passphrase)
            Issue.record("accepted Argon2id memory \(memory) KiB")
        } catch {
            #expect(error.category == .malformed, "\(error)")
        }
    }
}
