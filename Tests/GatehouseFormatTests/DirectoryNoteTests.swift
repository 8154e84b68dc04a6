import GatehouseCrypto
import GatehouseFormat
import Testing

/// C2SP signed notes and tlog checkpoints (DIRECTORY.md §3 and §4), against the vectors of the
/// C2SP specification and of Go's golang.org/x/mod/sumdb/note.
@Suite("Directory: signed notes and checkpoints")
struct DirectoryNoteTests {
    static let peterVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let peterSeed = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  // 0x01 || seed, Go's PRIVATE+KEY format
    static let peterText =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let peterSignature =
        "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    static let enochSignature =
        "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

    static func peterKey() -> SigningSecretKey {
        try! SigningSecretKey(seed: SecretBytes(copying: Array(Base64.decode(peterSeed)!.dropFirst())))
    }

    @Test func signingReproducesGosNoteByteForByte() throws {
        let verifier = try NoteVerifierKey.parse(Self.peterVerifier)
        #expect(verifier.name == "PeterNeumann" && verifier.keyID == 0xc74f_20a3)
        #expect(verifier.text == Self.peterVerifier)
        let key = Self.peterKey()
        #expect(key.publicKey == verifier.key)
        let note = try SignedNote.sign(Self.peterText, verifier: verifier, key: key)
        #expect(note.bytes == Array((Self.peterText + "\n" + Self.peterSignature).utf8))
    }

    @Test func openingIgnoresUnknownKeysAndVerifiesKnownOnes() throws {
        let verifier = try NoteVerifierKey.parse(Self.peterVerifier)
        let enoch = try NoteVerifierKey.parse("EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop")
        let note = try SignedNote.parse(Array((Self.peterText + "\n" + Self.peterSignature + Self.enochSignature).utf8))
        #expect(note.text == Self.peterText && note.signatures.count == 2)
        try note.verified(by: verifier)
        try note.verified(by: enoch)
        // A key with the same name and a different id is someone else: its signatures are ignored.
        let other = try NoteVerifierKey(name: "PeterNeumann", key: Self.peterKeyOther())
        #expect(throws: FormatError.authenticationFailed("signed note: no signature by PeterNeumann")) {
            try note.verified(by: other)
        }
    }

    static func peterKeyOther() -> SigningPublicKey { SigningSecretKey.generate().publicKey }

    @Test func theC2SPExampleVerifies() throws {
        let verifier = try NoteVerifierKey.parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
        let text =
            "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
        try SignedNote.parse(Array(text.utf8)).verified(by: verifier)
    }

    @Test func aTamperedNoteOrSignatureIsRefused() throws {
        let verifier = try NoteVerifierKey.parse(Self.peterVerifier)
        let good = Array((Self.peterText + "\n" + Self.peterSignature).utf8)
        var changedText = good
        changedText[3] ^= 0x01
        #expect(throws: FormatError.self) { try SignedNote.parse(changedText).verified(by: verifier) }
        // A signature byte changed, with the key id kept (so the key is still "known").
        var raw = Base64.decode(
            "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=")!
        raw[10] ^= 0x01
        let bad = Self.peterText + "\n\u{2014} PeterNeumann \(Base64.encode(raw))\n"
        #expect(throws: FormatError.self) { try SignedNote.parse(Array(bad.utf8)).verified(by: verifier) }
        // One good and one bad signature by the same key: the note is refused whole.
        let twice = Self.peterText + "\n" + Self.peterSignature + "\u{2014} PeterNeumann \(Base64.encode(raw))\n"
        #expect(throws: FormatError.self) { try SignedNote.parse(Array(twice.utf8)).verified(by: verifier) }
    }

    @Test(arguments: [
        "no blank line\n\u{2014} a AAAAAAA=\n",  // no empty line before the signatures
        "text\n\n",  // no signature
        "text\n\nPeterNeumann AAAAAAA=\n",  // no em dash
        "text\n\n\u{2014} PeterNeumann AAAA\n",  // 3 bytes, not key id + signature
        "text\n\n\u{2014} Peter+Neumann AAAAAAA=\n",  // '+' in a key name
        "text\n\n\u{2014} PeterNeumann AAAAAAA\n",  // not canonical base64
        "text\n\n\u{2014} PeterNeumann AAAAAAA=",  // no final LF
        "te\u{7}xt\n\n\u{2014} PeterNeumann AAAAAAA=\n",  // control character
        "text\r\n\n\u{2014} PeterNeumann AAAAAAA=\n",  // CR
    ])
    func malformedNotesAreRefused(_ text: String) {
        #expect(throws: FormatError.self) { try SignedNote.parse(Array(text.utf8)) }
    }

    @Test func verifierKeyManglingsAreRefused() {
        let key = Array(Self.peterVerifier.utf8)
        for i in key.indices {
            var mangled = key
            mangled[i] &+= 1
            #expect(throws: FormatError.self, "byte \(i)") {
                try NoteVerifierKey.parse(String(decoding: mangled, as: UTF8.self))
            }
        }
        for cut in 1..<key.count {
            #expect(throws: FormatError.self) {
                try NoteVerifierKey.parse(String(decoding: key.prefix(cut), as: UTF8.self))
            }
        }
        // Go's own bad keys: a key of the wrong length and an unknown algorithm, each with an adjusted id.
        for bad in [
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        ] {
            #expect(throws: FormatError.self) { try NoteVerifierKey.parse(bad) }
        }
    }

    // MARK: - Checkpoints

    static let t: UInt64 = RFC3339.parse("2026-12-05T06:00:00Z")!

    @Test func checkpointBodyIsTheC2SPFormatWithATimeLine() throws {
        // Go's sumdb/tlog TestFormatTree: the same three lines for the same tree.
        let root = MerkleHash.leaf(Array("hello world".utf8))
        let checkpoint = try Checkpoint(origin: "go.sum database tree", size: 123_456_789_012, root: root, time: Self.t)
        #expect(
            checkpoint.text.hasPrefix(
                "go.sum database tree\n123456789012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n"))
        #expect(checkpoint.text.hasSuffix("\ntime 2026-12-05T06:00:00Z\n"))
        #expect(try Checkpoint.parse(checkpoint.text) == checkpoint)
    }

    @Test(arguments: [
        "nhs.example/dir\n012\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\ntime 2026-12-05T06:00:00Z\n",  // leading zero
        "nhs.example/dir\n-1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\ntime 2026-12-05T06:00:00Z\n",  // negative
        "nhs.example/dir\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBTOOBIG=\ntime 2026-12-05T06:00:00Z\n",  // not 32 bytes
        "nhs.example/dir\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",  // no time
        "nhs.example/dir\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\ntime 2026-12-05T06:00:00Z\nmore\n",
        "\n1\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\ntime 2026-12-05T06:00:00Z\n",  // empty origin
        "nhs.example/dir\n18446744073709551616\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\ntime 2026-12-05T06:00:00Z\n",
    ])
    func malformedCheckpointsAreRefused(_ text: String) {
        #expect(throws: FormatError.self) { try Checkpoint.parse(text) }
    }

    @Test func aCheckpointSignedByAnotherKeyOrForAnotherOriginIsRefused() throws {
        let key = SigningSecretKey.generate()
        let verifier = try NoteVerifierKey(name: "nhs.example/directory", key: key.publicKey)
        let checkpoint = try Checkpoint(origin: "nhs.example/directory", size: 3, root: MerkleHash.empty, time: Self.t)
        let note = try SignedNote.sign(checkpoint.text, verifier: verifier, key: key)
        #expect(try Checkpoint.open(note.bytes, verifier: verifier).0 == checkpoint)

        // Signed by another key under the same name: no signature by the pinned key.
        let thief = SigningSecretKey.generate()
        let thiefVerifier = try NoteVerifierKey(name: "nhs.example/directory", key: thief.publicKey)
        let forged = try SignedNote.sign(checkpoint.text, verifier: thiefVerifier, key: thief)
        #expect(throws: FormatError.self) { try Checkpoint.open(forged.bytes, verifier: verifier) }

        // Signed by the right key but naming another log.
        let otherLog = try Checkpoint(origin: "nhs.example/other", size: 3, root: MerkleHash.empty, time: Self.t)
        let misnamed = try SignedNote.sign(otherLog.text, verifier: verifier, key: key)
        #expect(
            throws: FormatError.authenticationFailed(
                "checkpoint: origin \"nhs.example/other\" is not \"nhs.example/directory\"")
        ) { try Checkpoint.open(misnamed.bytes, verifier: verifier) }

        // Every single-byte change of the signed checkpoint is refused.
        let bytes = note.bytes
        for i in bytes.indices {
            var changed = bytes
            changed[i] ^= 0x04
            #expect(throws: FormatError.self, "byte \(i)") { try Checkpoint.open(changed, verifier: verifier) }
        }
    }
}

extension DirectoryNoteTests {
    @Test func aVerifierKeyWhoseBase64HoldsAPlusRoundTrips() throws {
        // A key whose base64 has '+' (as Go's EnochRoot key does), which a split on every '+' broke.
        let enoch = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
        #expect(try NoteVerifierKey.parse(enoch).text == enoch)
        for _ in 0..<64 {
            let verifier = try NoteVerifierKey(
                name: "directory.nhs.example/test", key: SigningSecretKey.generate().publicKey)
            #expect(try NoteVerifierKey.parse(verifier.text) == verifier)
        }
    }
}
