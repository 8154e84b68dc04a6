import GatehouseCrypto
import GatehouseFormat

/// The directory's parsers under the fuzzer (docs/DIRECTORY.md): each trap is a parser that
/// accepted bytes without a single canonical spelling, or a follower that trusted what it must not.
enum DirectoryFuzzing {
    /// The fuzzed log's key: a test key from a public label.
    static let key = try! SigningSecretKey(seed: TestOrganisation.testSeed("directory-fuzz-root"))
    static let verifier = try! NoteVerifierKey(name: "directory.nhs.example/fuzz", key: key.publicKey)

    static func run(_ target: FuzzHarness.Target, _ bytes: [UInt8]) {
        switch target {
        case .checkpoint:
            if let note = try? SignedNote.parse(bytes) {
                precondition(note.bytes == bytes, "signed note is not canonical")
                if let checkpoint = try? Checkpoint.parse(note.text) {
                    precondition(checkpoint.text == note.text, "checkpoint is not canonical")
                }
            }
            if let entry = try? DirectoryEntry.parse(bytes) {
                precondition(entry.bytes == bytes, "entry is not canonical")
            }
            if let text = String(validating: bytes, as: UTF8.self) {
                if let key = try? NoteVerifierKey.parse(text) {
                    precondition(key.text == text, "verifier key is not canonical")
                }
                if let card = try? NetworkCard.parse(text) {
                    precondition((try? NetworkCard.parse(card.text)) == card, "network card")
                }
            }
        case .tile:
            // The first bytes choose a path; the rest are a tile, an entry bundle, and tiles served
            // to a follower of a signed empty log, which must never take what it did not verify.
            let split = min(bytes.count, Int(bytes.first ?? 0) % 48)
            let path = String(decoding: bytes.prefix(split), as: UTF8.self)
            if let tile = try? TilePath.parse(path) {
                precondition(tile.description == path, "tile path is not canonical")
                let body = Array(bytes.dropFirst(split))
                _ = try? TileData.hashes(inTile: body, tile: tile)
                if let entries = try? TileData.entries(inBundle: body, count: tile.count) {
                    precondition((try? TileData.bundle(entries)) == body, "entry bundle is not canonical")
                }
            }
            let body = Array(bytes.dropFirst(split))
            let claimed = UInt64(bytes.count % 300)
            var mirror = DirectoryMirror(verifier: verifier)
            let signed = try! Checkpoint(origin: verifier.name, size: claimed, root: MerkleHash.leaf(body), time: 0)
            let note = try! SignedNote.sign(signed.text, verifier: verifier, key: key)
            if case .updated? = try? mirror.update(checkpoint: note.bytes, fetch: { _ in body }) {
                precondition(
                    mirror.log.tree.root == signed.root, "a follower trusted a tree that does not give the signed root")
            }
        default:
            preconditionFailure("not a directory target")
        }
    }
}
