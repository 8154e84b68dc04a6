import GatehouseCrypto
import GatehouseFormat
import Testing

@Suite("Secret key files (FORMAT.md §6)")
struct SecretKeyFileTests {
    func text(_ line: borrowing SecretBytes) -> String { line.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    func decodeSigning(_ text: String, role: SecretKeyRole = .signing) throws(FormatError) -> SigningPublicKey {
        let bytes = Array(text.utf8)
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(FormatError) in try SecretKeyFile.decodeSigningKey(raw, role: role).publicKey }
        }
        return try result.get()
    }

    @Test func signingKeyRoundTrips() throws {
        let key = CardFixtures.signingKey("file-signing")
        let line = text(SecretKeyFile.encode(signing: key, role: .signing))
        #expect(line.hasPrefix("gatehouse-secret-key-v1 signing ed25519 \(KeyID(signing: key.publicKey).hex) "))
        #expect(line.hasSuffix("=\n") && line.utf8.count <= SecretKeyFile.maxLength)
        #expect(try decodeSigning(line) == key.publicKey)
        #expect(throws: FormatError.self) { try decodeSigning(line, role: .root) }
    }

    @Test func encryptionKeyRoundTrips() throws {
        let key = CardFixtures.agreementKey("file-encryption")
        let line = text(SecretKeyFile.encode(encryption: key))
        #expect(line.hasPrefix("gatehouse-secret-key-v1 encryption x25519 \(KeyID(agreement: key.publicKey).hex) "))
        let decoded = Array(line.utf8).withUnsafeBytes { raw in
            Result { () throws(FormatError) in try SecretKeyFile.decodeEncryptionKey(raw).publicKey }
        }
        #expect(try decoded.get() == key.publicKey)
    }

    @Test func damagedFilesAreRefused() {
        let key = CardFixtures.signingKey("file-damaged")
        let line = text(SecretKeyFile.encode(signing: key, role: .signing))
        var words = line.dropLast().split(separator: " ").map(String.init)
        let good = words
        words[3] = "0011223344556677"
        let variants = [
            words.joined(separator: " ") + "\n",                           // key id of another key
            String(line.dropLast()),                                        // no final LF
            line + "\n",                                                    // trailing data
            line.replacing("ed25519", with: "x25519"),                      // wrong algorithm
            line.replacing("gatehouse-secret-key-v1", with: "gatehouse-secret-key-v2"),
            good.joined(separator: "  ") + "\n",                           // double spaces
            (good.dropLast() + [String(good[4].dropLast())]).joined(separator: " ") + "\n",  // bad base64
        ]
        for variant in variants {
            #expect(throws: FormatError.self, "\(variant.debugDescription.prefix(60))") { try decodeSigning(variant) }
        }
    }
}
