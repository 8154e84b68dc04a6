@testable import GatehouseFormat
import Testing

/// The Unicode data the text rules rest on (FORMAT.md §3.7), pinned with known pairs: the
/// standard library offers NFC and case folding only as SPI, so a toolchain that changed them
/// must fail here.
@Suite("Unicode normalization and case folding")
struct UnicodeTextTests {
    @Test("NFC text is recognised", arguments: [
        "café.txt", "\u{301}abc", "한국어", "日本語.pdf", "Ärztebrief.pdf", "ǅ", "\u{1E9B}\u{323}",
    ])
    func nfc(text: String) {
        #expect(UnicodeText.isNFC(text))
    }

    @Test("text that is not NFC is recognised", arguments: [
        "cafe\u{301}.txt",       // decomposed é
        "\u{212B}",              // ANGSTROM SIGN, a singleton: NFC is U+00C5
        "\u{212A}elvin",         // KELVIN SIGN: NFC is K
        "\u{1112}\u{1161}\u{11AB}", // Hangul jamo of 한
        "a\u{301}\u{323}",        // marks out of canonical order (NFC: U+1EA1 U+0301)
        "a\u{323}\u{302}",        // composes to ậ, U+1EAD
    ])
    func notNFC(text: String) {
        #expect(!UnicodeText.isNFC(text))
    }

    @Test("names that differ only in case fold together", arguments: [
        ("Report.pdf", "report.pdf"), ("STRASSE.txt", "straße.txt"), ("\u{1E9E}", "ss"), ("\u{FB01}le", "FILE"),
        ("\u{130}", "i\u{307}"), ("ΣΊΣΥΦΟΣ", "Σίσυφος"), ("\u{13A0}", "\u{AB70}"), ("\u{1C5}", "\u{1C6}"),
        ("\u{B5}", "\u{3BC}"), ("\u{390}", "\u{3B9}\u{308}\u{301}"), ("CAFÉ.TXT", "café.txt"), ("\u{17F}", "S"),
    ])
    func foldTogether(pair: (String, String)) {
        #expect(UnicodeText.caseFoldKey(pair.0) == UnicodeText.caseFoldKey(pair.1), "\(pair)")
    }

    @Test("names that differ in more than case stay apart", arguments: [
        ("i.txt", "\u{131}.txt"), ("I", "\u{131}"), ("a", "á"), ("café", "cafe"), ("\u{3B9}", "\u{345}\u{3B9}"), ("Ω", "O"),
    ])
    func foldApart(pair: (String, String)) {
        #expect(UnicodeText.caseFoldKey(pair.0) != UnicodeText.caseFoldKey(pair.1), "\(pair)")
    }

    @Test func foldKeyIsTheNFCOfTheFoldedText() {
        // Full folding (status F), not simple: ß becomes two letters; İ keeps its dot as U+0307.
        #expect(UnicodeText.caseFoldKey("Straße") == Array("strasse".utf8))
        #expect(UnicodeText.caseFoldKey("\u{130}") == Array("i\u{307}".utf8))
        // Cherokee folds to the capitals (CaseFolding.txt), not to small letters as lower-casing would.
        #expect(UnicodeText.caseFoldKey("\u{AB70}") == Array("\u{13A0}".utf8))
        // The result is NFC again: J + caron folds to j + caron, which composes to ǰ.
        #expect(UnicodeText.caseFoldKey("J\u{30C}") == Array("\u{1F0}".utf8))
    }

    @Test("readable text refuses invisible, reordering and line-breaking characters", arguments: [
        0x202E, 0x202D, 0x2066, 0x200B, 0x200D, 0xFEFF, 0x00AD, 0x2028, 0x2029, 0x0085, 0x007F, 0x0009,
        0x3164, 0x115F, 0xFE0F, 0x034F, 0xE0041, 0x0378, 0xFFFE, 0x10FFFF,
    ] as [UInt32])
    func refused(value: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(value))
        #expect(ReadableText.refusal(of: scalar) != nil, "U+\(String(value, radix: 16))")
        #expect(throws: FormatError.self) { try ReadableText.check("a\(Character(scalar))b", "text") }
    }

    @Test("readable text keeps letters, marks, symbols and private use", arguments: [
        0x0301, 0x00E9, 0x05D0, 0x0627, 0x4E2D, 0x1F4C4, 0xE000, 0x00A0, 0x0020,
    ] as [UInt32])
    func allowed(value: UInt32) throws {
        #expect(ReadableText.refusal(of: try #require(Unicode.Scalar(value))) == nil, "U+\(String(value, radix: 16))")
    }

    @Test func messagesNeverCarryTheRefusedCharacters() {
        let shown = ReadableText.shown("report\u{202E}fdp.exe \"x\" \\ \u{2028}")
        #expect(shown == #""report\u{202E}fdp.exe \"x\" \\ \u{2028}""#)
        #expect(ReadableText.code("\u{202E}") == "U+202E RIGHT-TO-LEFT OVERRIDE")
        #expect(ReadableText.code("\u{7}") == "U+0007")
        do {
            try ReadableText.check("summary\u{200B}.xml", "file name")
            Issue.record("accepted a zero-width space")
        } catch {
            #expect(error.detail == #"file name "summary\u{200B}.xml" contains U+200B ZERO WIDTH SPACE, an invisible format character"#)
        }
    }

    @Test func byteOperationsIgnoreGraphemeClusters() {
        // " \u{301}" is one Character, and U+212A KELVIN SIGN is canonically equivalent to K.
        #expect("a \u{301}b".splitBytes(UInt8(ascii: " ")) == ["a", "\u{301}b"])
        #expect("/\u{301}x".hasBytePrefix("/"))
        #expect(!"/\u{301}x".hasPrefix("/"))
        #expect("\u{212A}EY" == "KEY")
        #expect(!"\u{212A}EY".sameBytes("KEY"))
        #expect("x.card".hasByteSuffix(".card") && !"card".hasByteSuffix(".card"))
    }

    @Test func odsCodesTypedByPeopleAreUpperCasedInASCIIOnly() throws {
        #expect(try ODSCode(userInput: "yoi123").value == "YOI123")
        // Unicode upper-casing would turn these into YOI123 and ASS01.
        #expect(throws: FormatError.self) { try ODSCode(userInput: "yo\u{131}123") }
        #expect(throws: FormatError.self) { try ODSCode(userInput: "a\u{DF}01") }
    }
}
