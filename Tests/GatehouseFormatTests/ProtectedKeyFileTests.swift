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
        #expect(throws: FormatError.self) { _ = try ProtectedKeyFile.decodeSigningKey(bytes, role: .root, passphrase: wrong) }
        #expect(throws: FormatError.self) { _ = try ProtectedKeyFile.decodeSigningKey(bytes, role: .signing, passphrase: passphrase) }
    }

    /// A fresh protected file with word `word` replaced by `replacement`.
    func file(changing word: Int, to replacement: String) throws -> [UInt8] {
        let (_, bytes) = try file()
        var words = String(decoding: bytes.dropLast(), as: UTF8.self).split(separator: " ").map(String.init)
        words[word] = replacement
        return Array((words.joined(separator: " ") + "\n").utf8)
    }

    /// The category of the error opening `bytes` gives (nil when it opened).
    func failure(_ bytes: [UInt8]) -> FormatError.Category? {
        do { _ = try ProtectedKeyFile.decodeSigningKey(bytes, role: .root, passphrase: passphrase); return nil } catch { return error.category }
    }

    /// Every word is bound to the sealed key, and out-of-range Argon2id limits (which a file
    /// given with --root-key may carry) are refused, never computed with.
    @Test(arguments: [4, 5, 6])
    func changedWordsAreRefused(word: Int) throws {
        #expect(failure(try file(changing: word, to: ["0123456789abcdef", "3", "65537"][word - 4])) != nil)
    }

    /// One spelling per file: Argon2id limits in plain decimal, and salt, nonce and sealed key of
    /// exactly 16, 24 and 48 bytes, refused as damage before any passphrase is tried.
    @Test(arguments: [(5, "+2"), (5, "02"), (6, "065536"), (6, " 65536"), (7, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                      (8, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), (9, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")])
    func nonCanonicalWordsAreMalformed(word: Int, replacement: String) throws {
        #expect(failure(try file(changing: word, to: replacement)) == .malformed, "word \(word) = \(replacement)")
    }

    @Test(arguments: ["18014398509481984", "18446744073709551615", "0", "4"])
    func absurdMemoryLimitsAreMalformedNotACrash(memory: String) throws {
        #expect(failure(try file(changing: 6, to: memory)) == .malformed, "Argon2id memory \(memory) KiB")
    }
}
