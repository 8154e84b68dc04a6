import GatehouseCrypto
import Testing

/// Known-answer tests from the standards. Every expected value was cross-checked with Python's
/// `hashlib` and `cryptography` packages.
@Suite("Known answers")
struct KnownAnswerTests {
    static func secret(_ hex: String) -> SecretBytes { SecretBytes(copying: [UInt8](hex: hex)!) }

    /// FIPS 180-4 examples (NIST CSRC "Example Values").
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256(message: String, expected: String) {
        #expect(SHA256Hasher.hash(Array(message.utf8)).hex == expected)
    }

    @Test func sha256OfAMillionAsInUnevenPieces() {
        let hasher = SHA256Hasher()
        var fed = 0
        var step = 1
        while fed < 1_000_000 {
            let n = min(step, 1_000_000 - fed)
            hasher.update([UInt8](repeating: 0x61, count: n))
            fed += n
            step = step * 3 + 1
        }
        #expect(hasher.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sha256CopyForksTheState() {
        let hasher = SHA256Hasher()
        hasher.update(Array("ab".utf8))
        let fork = hasher.copy()
        hasher.update(Array("c".utf8))
        #expect(fork.finalize() == SHA256Hasher.hash(Array("ab".utf8)))
        #expect(hasher.finalize() == SHA256Hasher.hash(Array("abc".utf8)))
    }

    @Test func hexParsing() {
        #expect([UInt8](hex: "00ff10") == [0, 255, 16])
        #expect([UInt8](hex: "ABcd") == [0xab, 0xcd])
        #expect([UInt8](hex: "abc") == nil)
        #expect([UInt8](hex: "zz") == nil)
        #expect([0x0a, 0xff].hexString == "0aff")
    }

    /// RFC 8032 §7.1, tests 1–3.
    @Test(arguments: [
        ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ])
    func ed25519(seed: String, publicKey: String, message: String, signature: String) throws {
        let key = try SigningSecretKey(seed: Self.secret(seed))
        #expect(key.publicKey.bytes.hexString == publicKey)
        let msg = [UInt8](hex: message)!
        #expect(key.sign(msg).hexString == signature)
        #expect(key.publicKey.isValidSignature([UInt8](hex: signature)!, for: msg))
        key.withSeed { #expect(Array($0).hexString == seed) }
    }

    @Test func ed25519RejectsForgeries() throws {
        let key = try SigningSecretKey(seed: Self.secret("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"))
        let message: [UInt8] = [0x72]
        let signature = key.sign(message)
        #expect(!key.publicKey.isValidSignature(signature, for: [0x73]))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!key.publicKey.isValidSignature(flipped, for: message))
        #expect(!key.publicKey.isValidSignature(Array(signature.dropLast()), for: message))
        // S + L (the group order) is the same point arithmetic but non-canonical: must be refused.
        let order: [UInt8] = [0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10]
        var nonCanonical = signature
        var carry = 0
        for i in 0..<32 {
            let sum = Int(nonCanonical[32 + i]) + Int(order[i]) + carry
            nonCanonical[32 + i] = UInt8(sum & 0xff)
            carry = sum >> 8
        }
        #expect(!key.publicKey.isValidSignature(nonCanonical, for: message))
        // A small-order public key (the identity point) verifies nothing.
        let identity = try SigningPublicKey(bytes: [1] + [UInt8](repeating: 0, count: 31))
        #expect(!identity.isValidSignature([1] + [UInt8](repeating: 0, count: 63), for: message))
        #expect(throws: CryptoError.self) { try SigningPublicKey(bytes: [UInt8](repeating: 1, count: 31)) }
    }

    /// RFC 7748 §6.1.
    @Test func x25519() throws {
        let alice = try AgreementSecretKey(secret: Self.secret("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        let bob = try AgreementSecretKey(secret: Self.secret("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
        #expect(alice.publicKey.bytes.hexString == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(bob.publicKey.bytes.hexString == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
        try alice.sharedSecret(with: bob.publicKey).withUnsafeBytes { #expect(Array($0).hexString == shared) }
        try bob.sharedSecret(with: alice.publicKey).withUnsafeBytes { #expect(Array($0).hexString == shared) }
    }

    @Test(arguments: [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
    ])
    func x25519RefusesSmallOrderPoints(point: String) throws {
        let key = AgreementSecretKey.generate()
        #expect(throws: CryptoError.self) { _ = try key.sharedSecret(with: AgreementPublicKey(bytes: [UInt8](hex: point)!)) }
    }

    /// Keyed BLAKE2b-256, as Python's `hashlib.blake2b(digest_size=32, key=…)` computes it.
    @Test func keyedBlake2b() {
        let key = SecretBytes(copying: Array(0..<32))
        let expected = "ad4f7e3927eceda0aa328f93b30ee107898d019b10656e119cbecc04e4b27b3e"
        #expect(KeyedHash.commitment(to: key, parts: [Array("gatehouse/v1/commit\0".utf8), Array(0..<16)]).hexString == expected)
        // Parts are concatenated: the split does not matter, the key does.
        #expect(KeyedHash.commitment(to: key, parts: [Array("gatehouse/v1/commit\0".utf8) + Array(0..<16)]).hexString == expected)
        KeyedHash.deriveKey(from: key, parts: [Array("gatehouse/v1/commit\0".utf8), Array(0..<16)]).withUnsafeBytes {
            #expect(Array($0).hexString == expected)
        }
        let other = SecretBytes(copying: [UInt8](repeating: 7, count: 32))
        #expect(KeyedHash.commitment(to: other, parts: [Array("hello world".utf8)]).hexString
            == "be6540c9861231d30e32be23363ba83260ab889aaf52102649be7a3a0f5f32f4")
    }
}
