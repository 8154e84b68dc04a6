/// Text operations on UTF-8 bytes, for formats, paths and parsers.
///
/// `String`'s own operations work on Characters (grapheme clusters) and compare by canonical
/// equivalence, and neither is what a format means: `" \u{301}"` is one Character, so splitting
/// on `" "` or asking whether a line starts with `" "` misses the space; `"/\u{301}x"` has no
/// Character `"/"`; and `"\u{212A}EY" == "KEY"` is true because U+212A KELVIN SIGN is
/// canonically equivalent to `K`. Here a separator is a byte and equal means the same bytes.
extension StringProtocol {
    /// True when the two texts are the same UTF-8 bytes.
    package func sameBytes(_ other: some StringProtocol) -> Bool { utf8.elementsEqual(other.utf8) }

    /// True when the UTF-8 bytes start with those of `prefix`.
    package func hasBytePrefix(_ prefix: some StringProtocol) -> Bool { utf8.starts(with: prefix.utf8) }

    /// True when the UTF-8 bytes end with those of `suffix`.
    package func hasByteSuffix(_ suffix: some StringProtocol) -> Bool {
        utf8.count >= suffix.utf8.count && utf8.reversed().starts(with: suffix.utf8.reversed())
    }
}

extension Substring {
    /// The pieces between `separator` bytes (an ASCII character), empty pieces included.
    package func splitBytes(_ separator: UInt8, maxSplits: Int = .max) -> [Substring] {
        precondition(separator < 0x80, "an ASCII separator, so that every piece is valid UTF-8")
        return utf8.split(separator: separator, maxSplits: maxSplits, omittingEmptySubsequences: false).map { Substring($0) }
    }
}

extension String {
    /// The pieces between `separator` bytes (an ASCII character), empty pieces included.
    package func splitBytes(_ separator: UInt8, maxSplits: Int = .max) -> [Substring] {
        self[...].splitBytes(separator, maxSplits: maxSplits)
    }
}
