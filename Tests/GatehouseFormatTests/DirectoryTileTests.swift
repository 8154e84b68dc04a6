import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Testing

/// tlog-tiles paths and contents (DIRECTORY.md §5).
@Suite("Directory: tiles")
struct DirectoryTileTests {
    @Test func pathsFollowTheSpecification() throws {
        #expect(
            try TilePath(kind: .hashes(level: 0), index: 1_234_067, count: 256).description == "tile/0/x001/x234/067")
        #expect(try TilePath(kind: .hashes(level: 2), index: 0, count: 1).description == "tile/2/000.p/1")
        #expect(try TilePath(kind: .entries, index: 1000, count: 17).description == "tile/entries/x001/000.p/17")
        for path in [
            "tile/0/x001/x234/067", "tile/2/000.p/1", "tile/entries/x001/000.p/17",
            "tile/63/x018/x446/x744/x073/x709/x551/615",
        ] {
            #expect(try TilePath.parse(path).description == path)
        }
    }

    @Test(arguments: [
        "tile/0/1", "tile/0/01", "tile/0/0001", "tile/00/000", "tile/64/000", "tile/-1/000", "tile/0/x000/001",
        "tile/0/001/002", "tile/0/x001", "tile/0/000.p/256", "tile/0/000.p/0", "tile/0/000.p/07", "tile/0/000.p/",
        "tile/0/000.p", "tile/data/000", "tiles/0/000", "/tile/0/000", "tile/0/000/", "tile/0/../000", "../tile/0/000",
        "tile/0/./000", "tile/0/000.p/1/..", "tile/entries/../../etc/passwd", "tile//000", "tile/0/x\u{0}01/000",
        "tile/0/x018/x446/x744/x073/x709/x551/616", "tile/0/x001/x002/x003/x004/x005/x006/x007/008", "tile/０/000",
    ])
    func badPathsAreRefused(_ path: String) {
        #expect(throws: FormatError.self) { try TilePath.parse(path) }
    }

    @Test func aTreeOf70000IsServedAsTheSpecificationCounts() {
        let tiles = TilePath.all(forSize: 70_000).filter { if case .hashes = $0.kind { true } else { false } }
        let byLevel = Dictionary(grouping: tiles) { tile -> Int in if case .hashes(let l) = tile.kind { l } else { -1 }
        }
        #expect(byLevel[0]?.filter { !$0.isPartial }.count == 273)
        #expect(byLevel[0]?.filter(\.isPartial).map(\.count) == [112])
        #expect(byLevel[1]?.map(\.count) == [256, 17])
        #expect(byLevel[2]?.map(\.count) == [1])
        #expect(TilePath.all(forSize: 256).map(\.description) == ["tile/entries/000", "tile/0/000", "tile/1/000.p/1"])
        #expect(TilePath.all(forSize: 0).isEmpty)
    }

    @Test func tilesHoldTheTreesHashesAtTheirLevels() throws {
        var log = MerkleTree()
        for i in 0..<(3 * 256 + 5) { log.append(entry: Array("entry \(i)".utf8)) }
        let level1 = try TilePath(kind: .hashes(level: 1), index: 0, count: 3)
        let hashes = try TileData.hashes(inTile: TileData.hashes(level1, from: log), tile: level1)
        for i in 0..<3 { #expect(hashes[i] == log.hash(UInt64(i * 256), UInt64(i * 256 + 256))) }
        let level0 = try TilePath(kind: .hashes(level: 0), index: 3, count: 5)
        #expect(
            try TileData.hashes(inTile: TileData.hashes(level0, from: log), tile: level0).first == log.hash(768, 769))
        #expect(throws: FormatError.self) {
            try TileData.hashes(inTile: [UInt8](repeating: 0, count: 5 * 32 + 1), tile: level0)
        }
    }

    @Test func entryBundlesAreStrict() throws {
        let entries: [[UInt8]] = [Array("one\n".utf8), [], Array(repeating: 0x41, count: 300)]
        let bundle = try TileData.bundle(entries)
        #expect(Array(bundle.prefix(6)) == [0, 4, 0x6f, 0x6e, 0x65, 0x0a])
        #expect(try TileData.entries(inBundle: bundle, count: 3) == entries)
        #expect(throws: FormatError.self) { try TileData.entries(inBundle: bundle, count: 2) }
        #expect(throws: FormatError.self) { try TileData.entries(inBundle: bundle, count: 4) }
        #expect(throws: FormatError.self) { try TileData.entries(inBundle: bundle + [0], count: 3) }
        #expect(throws: FormatError.self) { try TileData.entries(inBundle: Array(bundle.dropLast()), count: 3) }
        #expect(throws: FormatError.self) { try TileData.entries(inBundle: [0xFF, 0xFF, 1], count: 1) }
        #expect(throws: FormatError.self) { try TileData.bundle([[UInt8](repeating: 0, count: 65_536)]) }
    }
}

extension DirectoryTileTests {
    /// A taste of `make fuzz` in every test run: single-byte changes, cuts and repeats of the
    /// directory seeds go through the fuzz harness, which traps on any non-canonical acceptance.
    @Test func mutatedSeedsNeverTrapTheDirectoryParsers() throws {
        let corpus = VectorFile.folder.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fuzz/corpus")
        for target in [FuzzHarness.Target.checkpoint, .tile] {
            let folder = corpus.appendingPathComponent(target.rawValue)
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
                let seed = Array(try Data(contentsOf: folder.appendingPathComponent(name)))
                var generator = SystemRandomNumberGenerator()
                for _ in 0..<200 {
                    var bytes = seed
                    switch Int.random(in: 0..<3, using: &generator) {
                    case 0: if !bytes.isEmpty { bytes[Int.random(in: 0..<bytes.count)] ^= UInt8.random(in: 1...255) }
                    case 1: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count)))
                    default: bytes += bytes.suffix(Int.random(in: 0...min(64, bytes.count)))
                    }
                    FuzzHarness.run(target, bytes)
                }
            }
        }
    }
}
