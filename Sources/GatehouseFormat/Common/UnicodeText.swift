// The standard library's normalizer and case-folding table are reachable only as SPI.
@_spi(_Unicode) import Swift

/// Unicode normalization form C and full case folding, as the text rules (FORMAT.md §3.7) use
/// them, from the Swift standard library's own Unicode tables (Unicode 16.0 in Swift 6.3).
///
/// Why not Foundation: `folding(options: .caseInsensitive, locale: nil)` is not Unicode case
/// folding (it maps Cherokee to small letters where CaseFolding.txt maps to capitals), and the
/// format should not depend on Foundation's text layer for a rule a second implementation must
/// reproduce exactly. The standard library publishes its normalizer (`_nfc`) and the C + F
/// mappings of CaseFolding.txt (`_caseFolded`) only as SPI, so `UnicodeTextTests` pins both
/// with known pairs: a toolchain that changed them would fail the tests, not the format.
enum UnicodeText {
    /// True when `text` is already in Normalization Form C (its NFC is the same scalars).
    static func isNFC(_ text: some StringProtocol) -> Bool {
        String(text)._nfc.elementsEqual(text.unicodeScalars)
    }

    /// The UTF-8 bytes of `NFC(toCasefold(text))`: full case folding (CaseFolding.txt statuses
    /// C and F, no Turkic T mappings), then NFC again because folding can leave text that is
    /// not NFC (`İ` folds to `i` + U+0307). Two names with the same key differ only in case.
    static func caseFoldKey(_ text: some StringProtocol) -> [UInt8] {
        var folded = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { folded.append(contentsOf: scalar.properties._caseFolded.unicodeScalars) }
        var normalized = String.UnicodeScalarView()
        normalized.append(contentsOf: String(folded)._nfc)
        return Array(String(normalized).utf8)
    }
}
