/// The name of one tile or entry bundle in the tlog-tiles layout (DIRECTORY.md §5):
/// `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, with `<N>` in 3-digit path elements of
/// which all but the last start with `x` (index 1234067 is `x001/x234/067`).
public struct TilePath: Hashable, Sendable, CustomStringConvertible {
    /// Hashes in a full tile, and entries in a full bundle.
    public static let width = 256
    /// Bytes in a full hash tile.
    public static let fullTileBytes = width * MerkleHash.length
    /// Highest tile level (tlog-tiles: 0 to 63).
    public static let maxLevel = 63

    /// What the file holds.
    public enum Kind: Hashable, Sendable {
        /// Hashes of tree level 8·L.
        case hashes(level: Int)
        /// Entries, each prefixed by its length as a big-endian uint16.
        case entries
    }

    /// What the file holds.
    public let kind: Kind
    /// The tile's number within its level.
    public let index: UInt64
    /// How many hashes or entries it holds: 256 for a full tile, 1 to 255 for a partial one.
    public let count: Int

    /// A tile name; throws `invalidInput` for a level or width outside tlog-tiles' ranges.
    public init(kind: Kind, index: UInt64, count: Int) throws(FormatError) {
        if case .hashes(let level) = kind, !(0...Self.maxLevel).contains(level) {
            throw .invalidInput("tile level \(level) is outside 0...\(Self.maxLevel)")
        }
        guard (1...Self.width).contains(count) else { throw .invalidInput("tile width \(count) is outside 1...256") }
        self.kind = kind
        self.index = index
        self.count = count
    }

    /// True for a tile of fewer than 256 hashes or entries.
    public var isPartial: Bool { count < Self.width }

    /// The relative path, `/`-separated.
    public var description: String {
        var elements: [String] = []
        var n = index
        repeat {
            let group = String(n % 1000)
            elements.insert(String(repeating: "0", count: 3 - group.utf8.count) + group, at: 0)
            n /= 1000
        } while n > 0
        let number = elements.enumerated().map { $0.offset < elements.count - 1 ? "x" + $0.element : $0.element }
        let level: String
        switch kind {
        case .hashes(let l): level = String(l)
        case .entries: level = "entries"
        }
        let suffix = isPartial ? ".p/\(count)" : ""
        return "tile/\(level)/\(number.joined(separator: "/"))\(suffix)"
    }

    /// Parses a relative tile path strictly: only the canonical spelling of a tile is accepted,
    /// so no `..`, no leading zeros, no `x000` group at the front, no other characters.
    public static func parse(_ path: String) throws(FormatError) -> TilePath {
        func bad() -> FormatError { .malformed("\(path.debugDescription) is not a tile path") }
        guard path.utf8.count <= 64 else { throw bad() }
        var parts = path.splitBytes(UInt8(ascii: "/"))
        guard parts.count >= 3, parts[0].sameBytes("tile") else { throw bad() }
        var count = width
        if parts.count >= 4, parts[parts.count - 2].hasByteSuffix(".p") {
            let w = parts.removeLast()
            guard let value = decimal(w), value >= 1, value < UInt64(width) else { throw bad() }
            count = Int(value)
            parts[parts.count - 1] = parts[parts.count - 1].dropLast(2)
        }
        let kind: Kind
        if parts[1].sameBytes("entries") {
            kind = .entries
        } else if let level = decimal(parts[1]), level <= UInt64(maxLevel) {
            kind = .hashes(level: Int(level))
        } else {
            throw bad()
        }
        let groups = parts[2...]
        guard groups.count <= 7 else { throw bad() }
        var index: UInt64 = 0
        for (offset, group) in groups.enumerated() {
            var digits = Array(group.utf8)
            if offset < groups.count - 1 {
                guard digits.first == UInt8(ascii: "x") else { throw bad() }
                digits.removeFirst()
            }
            guard digits.count == 3, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { throw bad() }
            let value = digits.reduce(UInt64(0)) { $0 * 10 + UInt64($1 - 0x30) }
            let (scaled, overflow) = index.multipliedReportingOverflow(by: 1000)
            guard !overflow, scaled <= UInt64.max - value else { throw bad() }
            index = scaled + value
        }
        let tile = try TilePath(kind: kind, index: index, count: count)
        guard tile.description.sameBytes(path) else { throw bad() }
        return tile
    }

    private static func decimal(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.count <= 3, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let value = UInt64(text), text.sameBytes(String(value))
        else { return nil }
        return value
    }

    /// Every tile and entry bundle a tree of `size` entries is served as: all full ones and the
    /// partial one at each level (tlog-tiles §Partial Tiles).
    public static func all(forSize size: UInt64) -> [TilePath] {
        var tiles: [TilePath] = []
        for kind in [Kind.entries] + (0...maxLevel).map({ Kind.hashes(level: $0) }) {
            let level: Int
            if case .hashes(let l) = kind { level = l } else { level = 0 }
            guard 8 * level < 64 else { break }
            let hashes = size >> UInt64(8 * level)
            if hashes == 0 { break }
            tiles += covering(kind: kind, hashes: 0..<hashes)
        }
        return tiles
    }

    /// The tiles of `kind` that hold positions `range` of a level of `hashes` positions in all,
    /// the last one partial when the level's count is not a multiple of 256.
    public static func covering(kind: Kind, hashes range: Range<UInt64>, total: UInt64? = nil) -> [TilePath] {
        let total = total ?? range.upperBound
        guard !range.isEmpty else { return [] }
        var tiles: [TilePath] = []
        let w = UInt64(width)
        for n in (range.lowerBound / w)...((range.upperBound - 1) / w) {
            let count = min(w, total - n * w)
            tiles.append(try! TilePath(kind: kind, index: n, count: Int(count)))
        }
        return tiles
    }
}
