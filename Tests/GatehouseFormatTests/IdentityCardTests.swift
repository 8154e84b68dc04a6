import GatehouseCrypto
import GatehouseFormat
import Testing

@Suite("Identity card (FORMAT.md §5)")
struct IdentityCardTests {
    let card = CardFixtures.card()
    var lines: [String] { CardFixtures.lines(of: card) }

    /// Parses `text`, returning the error (nil when it parsed).
    func failure(_ text: String) -> FormatError? {
        do { _ = try IdentityCard.parse(text); return nil } catch { return error }
    }

    @Test func roundTrip() throws {
        let parsed = try IdentityCard.parse(card.text)
        #expect(parsed == card)
        #expect(parsed.text == card.text)
        #expect(parsed.fingerprint == Fingerprint.of(parsed.rootKey))
        #expect(parsed.signingKeyID == KeyID(signing: parsed.signingKey))
        #expect(parsed.encryptionKeyID == KeyID(agreement: parsed.encryptionKey))
        #expect(parsed.createdText == "2026-11-25T09:30:00Z")
        #expect(lines[0] == IdentityCard.beginLine && lines.last == IdentityCard.endLine)
        #expect(parsed.manifest.version == 1)
        #expect(parsed.expires == parsed.created + KeyManifest.defaultLifetime)
        #expect(lines.map { String($0.prefix { $0 != ":" }) } == [
            IdentityCard.beginLine, "version", "org", "name", "root-key", "manifest", "created", "expires",
            "signing-key", "encryption-key", "signature", IdentityCard.endLine,
        ])
        #expect(lines.count == 12)
    }

    @Test func crlfAndCoveringEmailAreAccepted() throws {
        let email = "Hello,\r\nhere is our card:\r\n\r\n" + card.text.replacing("\n", with: "\r\n") + "\r\nRegards,\r\nReception\r\n"
        #expect(try IdentityCard.parse(email) == card)
        #expect(try IdentityCard.parse(String(card.text.dropLast())) == card)  // no final LF
    }

    @Test func armourProblemsAreRefused() {
        #expect(failure("no card here")?.detail.contains("no '-----BEGIN") == true)
        #expect(failure(CardFixtures.text(Array(lines.dropLast())))?.detail.contains("without a matching") == true)
        #expect(failure(card.text + card.text)?.detail.contains("line 13: a second card") == true)
        #expect(failure(" " + card.text)?.detail.contains("no '-----BEGIN") == true)
        let huge = String(repeating: "x", count: IdentityCard.maxTextLength) + "\n" + card.text
        #expect(failure(huge)?.detail.contains("larger than 64 KiB") == true)
    }

    @Test(arguments: 1...10)
    func missingFieldIsRefused(index: Int) {
        var edited = lines
        let field = String(edited.remove(at: index).prefix { $0 != ":" })
        let error = failure(CardFixtures.text(edited))
        #expect(error?.category == .malformed)
        #expect(error?.detail.contains("line \(index + 1): field '") == true, "\(field): \(String(describing: error))")
        // The line that stands where the field should is named, with the field that was expected.
        #expect(error?.detail.contains("'\(field)'") == true, "\(field): \(String(describing: error))")
    }

    @Test(arguments: 1...10)
    func duplicatedFieldIsRefused(index: Int) {
        var edited = lines
        edited.insert(edited[index], at: index + 1)
        let error = failure(CardFixtures.text(edited))
        #expect(error?.category == .malformed)
        #expect(error?.detail.contains("line \(index + 2): field") == true, "\(String(describing: error))")
        #expect(error?.detail.contains("appears twice") == true, "\(String(describing: error))")
    }

    @Test(arguments: 1...9)
    func reorderedFieldsAreRefused(index: Int) {
        var edited = lines
        edited.swapAt(index, index + 1)
        let error = failure(CardFixtures.text(edited))
        #expect(error?.category == .malformed)
        #expect(error?.detail.contains("line \(index + 1): field") == true, "\(String(describing: error))")
        #expect(error?.detail.contains("out of order") == true, "\(String(describing: error))")
    }

    @Test(arguments: 1...11)
    func unknownFieldIsRefused(index: Int) {
        var edited = lines
        edited.insert("comment: hello", at: index)
        let error = failure(CardFixtures.text(edited))
        #expect(error?.category == .malformed)
        #expect(error?.detail.contains("line \(index + 1):") == true, "\(String(describing: error))")
    }

    @Test func badSpacingIsRefused() {
        for (index, bad) in [(2, "org:  A81001"), (2, "org:A81001"), (2, "org: A81001 "), (3, "name: Riverside Medical Practice\t"), (2, "org: "), (2, "org")] {
            var edited = lines
            edited[index] = bad
            let error = failure(CardFixtures.text(edited))
            #expect(error?.detail.contains("line \(index + 1):") == true, "\(bad): \(String(describing: error))")
        }
    }

    @Test func tamperedFieldsFailTheSignature() throws {
        for (index, replacement) in [(3, "name: Riverside Medical Practise"), (2, "org: A81002"), (5, "manifest: 2"),
                                     (6, "created: 2026-11-25T09:30:01Z"), (7, "expires: 2027-11-25T09:30:01Z")] {
            var edited = lines
            edited[index] = replacement
            let error = failure(CardFixtures.text(edited))
            #expect(error?.category == .authenticationFailed, "\(replacement)")
            #expect(error?.detail.contains("line 11: signature") == true, "\(String(describing: error))")
        }
        // A different, well-formed signing key with its correct id: only the signature catches it.
        let other = CardFixtures.card(label: "intruder")
        var edited = lines
        edited[8] = CardFixtures.lines(of: other)[8]
        #expect(edited[8] != lines[8] && edited[8].hasPrefix("signing-key: "))
        #expect(failure(CardFixtures.text(edited))?.category == .authenticationFailed)
        // A card re-signed by another root is valid, but carries another fingerprint.
        edited = lines
        edited[4] = CardFixtures.lines(of: other)[4]
        #expect(edited[4] != lines[4] && edited[4].hasPrefix("root-key: "))
        #expect(failure(CardFixtures.text(edited))?.category == .authenticationFailed)
    }

    @Test func wrongKeyIDsAreRefused() {
        for index in [8, 9] {
            var edited = lines
            var parts = edited[index].split(separator: " ").map(String.init)
            parts[2] = "0123456789abcdef"
            edited[index] = parts.joined(separator: " ")
            let error = failure(CardFixtures.text(edited))
            #expect(error?.detail.contains("does not match the key") == true, "\(String(describing: error))")
            // The right id in upper case is not the canonical spelling.
            var upper = lines[index].split(separator: " ").map(String.init)
            upper[2] = upper[2].uppercased()
            #expect(upper[2] != lines[index].split(separator: " ")[2].description, "the id has no letters to upper-case")
            edited[index] = upper.joined(separator: " ")
            #expect(failure(CardFixtures.text(edited))?.category == .malformed)
        }
    }

    @Test func nonCanonicalBase64IsRefused() {
        let rootLine = lines[4]
        let encoded = String(rootLine.split(separator: " ")[2])
        var chars = Array(encoded.utf8)
        // 32 bytes leave 2 unused bits in the last base64 digit: setting one keeps the bytes.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let value = alphabet.firstIndex(of: chars[42])!
        chars[42] = alphabet[(value & ~3) | 1]
        let variants = [String(decoding: chars, as: UTF8.self), String(encoded.dropLast()), encoded + "=", " " + encoded,
                        encoded.replacing("+", with: "-").replacing("/", with: "_")]
        for variant in variants where variant != encoded {
            var edited = lines
            edited[4] = "root-key: ed25519 " + variant
            let error = failure(CardFixtures.text(edited))
            #expect(error?.category == .malformed, "\(variant)")
            #expect(error?.detail.contains("line 5: root-key") == true, "\(String(describing: error))")
        }
        var edited = lines
        edited[10] = lines[10] + "="
        #expect(failure(CardFixtures.text(edited))?.detail.contains("line 11: signature") == true)
    }

    @Test func badValuesAreRefusedWithTheirLine() {
        let cases: [(Int, String, String)] = [
            (1, "version: 2", "line 2: version"), (1, "version: 01", "line 2: version"),
            (2, "org: a81001", "line 3: org"), (2, "org: AB", "line 3: org"),
            (3, "name: Riverside\u{202E}Practice", "line 4: name"), (3, "name:  Riverside", "line 4:"),
            (3, "name: Riverside\rPractice", "line 4: name"),
            (4, "root-key: x25519 AAAA", "line 5: root-key"),
            (5, "manifest: 0", "line 6: manifest"), (5, "manifest: 01", "line 6: manifest"), (5, "manifest: +1", "line 6: manifest"),
            (5, "manifest: -1", "line 6: manifest"), (5, "manifest: 1.0", "line 6: manifest"), (5, "manifest: one", "line 6: manifest"),
            (5, "manifest: 18446744073709551616", "line 6: manifest"),
            (6, "created: 2026-11-25T09:30:00.5Z", "line 7: created"), (6, "created: 2026-02-30T09:30:00Z", "line 7: created"),
            (6, "created: 2026-11-25T09:30:00+00:00", "line 7: created"), (6, "created: 2026-11-25T23:59:60Z", "line 7: created"),
            (7, "expires: 2027-11-25", "line 8: expires"), (7, "expires: 2027-11-25T09:30:00z", "line 8: expires"),
            (8, "signing-key: x25519 " + lines[8].split(separator: " ").dropFirst(2).joined(separator: " "), "line 9: signing-key"),
            (9, "encryption-key: ed25519 " + lines[9].split(separator: " ").dropFirst(2).joined(separator: " "), "line 10: encryption-key"),
            (8, lines[8] + " 2028-11-25T09:30:00Z", "line 9: signing-key"),
            (9, lines[9].split(separator: " ").dropLast().joined(separator: " "), "line 10: encryption-key"),
        ]
        for (index, replacement, expected) in cases {
            var edited = lines
            edited[index] = replacement
            let error = failure(CardFixtures.text(edited))
            #expect(error?.detail.contains(expected) == true, "\(replacement): \(String(describing: error))")
        }
    }

    /// Every single-byte change between the armour lines is refused, or leaves the same card
    /// (there is no ignorable text inside the armour, so in practice every change is refused).
    @Test func everyOneByteChangeIsRefusedOrHarmless() {
        let bytes = Array(card.text.utf8)
        let start = IdentityCard.beginLine.utf8.count + 1
        let end = bytes.count - IdentityCard.endLine.utf8.count - 1
        var refused = 0, harmless = 0
        for index in start..<end {
            for replacement in [bytes[index] ^ 0x01, bytes[index] ^ 0x20, UInt8(ascii: "A"), UInt8(ascii: "\n")] where replacement != bytes[index] {
                var edited = bytes
                edited[index] = replacement
                if let parsed = try? IdentityCard.parse(String(decoding: edited, as: UTF8.self)) {
                    #expect(parsed == card, "byte \(index) changed to \(replacement) gave another card")
                    harmless += 1
                } else {
                    refused += 1
                }
            }
        }
        #expect(refused > 0 && harmless == 0)
    }

    @Test func aNameStartingWithACombiningMarkRoundTrips() throws {
        // ": " and U+0301 form one Character; the parser works on bytes, so the space is seen.
        let made = CardFixtures.card(name: "\u{301}Riverside Practice")
        #expect(CardFixtures.lines(of: made)[3].utf8.elementsEqual("name: \u{301}Riverside Practice".utf8))
        let parsed = try IdentityCard.parse(made.text)
        #expect(parsed == made && Array(parsed.name.utf8) == Array("\u{301}Riverside Practice".utf8))
        // CRLF line ends as a mail system writes them: "\r\n" is one Character too.
        #expect(try IdentityCard.parse(made.text.replacing("\n", with: "\r\n")) == made)
    }

    @Test func separatorsHiddenInGraphemeClustersAreStillSeparators() {
        // A combining mark after the space of a key's value or after a word's space: the words
        // are split on the space byte, so the mark is part of the next word and refused there.
        var edited = lines
        edited[4] = lines[4].replacing("ed25519 ", with: "ed25519 \u{301}")
        #expect(failure(CardFixtures.text(edited))?.detail.contains("line 5: root-key: the key is not canonical base64") == true,
                "\(String(describing: failure(CardFixtures.text(edited))))")
        edited = lines
        edited[1] = "version:\u{301} 1"
        #expect(failure(CardFixtures.text(edited))?.detail.contains("line 2: version: expected one space after the colon") == true)
    }

    @Test func makeValidatesNames() throws {
        let root = CardFixtures.signingKey("names-root")
        let signing = CardFixtures.signingKey("names-signing").publicKey
        let encryption = CardFixtures.agreementKey("names-encryption").publicKey
        for bad in ["", " Leading", "Trailing ", "Tab\there", "Bidi\u{202E}", "Zero\u{200B}width", "Filler\u{3164}", "Cafe\u{301}",
                    "Line\u{2028}", String(repeating: "é", count: 129)] {
            #expect(throws: FormatError.self, "\(bad.debugDescription)") {
                try IdentityCard.make(org: ODSCode("YOI123"), name: bad, root: root, signingKey: signing, encryptionKey: encryption, created: 0)
            }
        }
        let longest = String(repeating: "é", count: 128)
        let made = try IdentityCard.make(org: ODSCode("YOI123"), name: longest, root: root, signingKey: signing, encryptionKey: encryption, created: 0)
        #expect(try IdentityCard.parse(made.text) == made)
        #expect(throws: FormatError.self) {
            try IdentityCard.make(org: ODSCode("YOI123"), name: "HMYOI Example", root: root, signingKey: signing,
                                  encryptionKey: encryption, created: RFC3339.maxSeconds + 1)
        }
    }
}
