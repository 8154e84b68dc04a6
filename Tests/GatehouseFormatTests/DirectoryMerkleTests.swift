import GatehouseCrypto
import GatehouseFormat
import Testing

/// RFC 9162 Merkle trees and proofs (DIRECTORY.md §2), against the published Certificate
/// Transparency vectors, Go's sumdb/tlog, and a naive implementation of the RFC's definitions.
@Suite("Directory: Merkle tree and proofs")
struct DirectoryMerkleTests {
    /// The reference leaves of the CT test data (RFC 6962, transparency-dev/merkle).
    static let leaves: [[UInt8]] = [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ].map { [UInt8](hex: $0)! }
    /// Their roots for sizes 0 to 8.
    static let roots = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func digest(_ hex: String) -> SHA256Digest { SHA256Digest(bytes: [UInt8](hex: hex)!)! }
    static var referenceTree: MerkleTree { MerkleTree(leafHashes: leaves.map(MerkleHash.leaf)) }

    @Test func rootsMatchTheCertificateTransparencyVectors() {
        let tree = Self.referenceTree
        for size in 0...8 { #expect(tree.root(size: UInt64(size)).hex == Self.roots[size], "size \(size)") }
    }

    @Test func leafHashMatchesGoSumdb() {
        // golang.org/x/mod/sumdb/tlog TestFormatTree: RecordHash("hello world").
        #expect(
            Base64.encode(MerkleHash.leaf(Array("hello world".utf8)).bytes)
                == "TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=")
    }

    @Test func proofsMatchTheCertificateTransparencyVectors() throws {
        let tree = Self.referenceTree
        #expect(
            try tree.inclusionProof(index: 0, treeSize: 8).map(\.hex) == [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ])
        #expect(
            try tree.inclusionProof(index: 5, treeSize: 8).map(\.hex) == [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ])
        #expect(
            try tree.consistencyProof(from: 2, to: 8).map(\.hex) == [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ])
        #expect(
            try tree.consistencyProof(from: 6, to: 8).map(\.hex) == [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ])
        try MerkleProof.verifyConsistency(
            oldSize: 6, newSize: 8, oldRoot: Self.digest(Self.roots[6]),
            newRoot: Self.digest(Self.roots[8]), proof: try tree.consistencyProof(from: 6, to: 8))
    }

    // MARK: - Against the RFC's definitions, written out naively

    static func naiveRoot(_ d: ArraySlice<SHA256Digest>) -> SHA256Digest {
        if d.isEmpty { return MerkleHash.empty }
        if d.count == 1 { return d.first! }
        var k = 1
        while k * 2 < d.count { k *= 2 }
        return MerkleHash.node(naiveRoot(d.prefix(k)), naiveRoot(d.dropFirst(k)))
    }

    static func naivePath(_ m: Int, _ d: ArraySlice<SHA256Digest>) -> [SHA256Digest] {
        if d.count == 1 { return [] }
        var k = 1
        while k * 2 < d.count { k *= 2 }
        return m < k
            ? naivePath(m, d.prefix(k)) + [naiveRoot(d.dropFirst(k))]
            : naivePath(m - k, d.dropFirst(k)) + [naiveRoot(d.prefix(k))]
    }

    static func naiveSubproof(_ m: Int, _ d: ArraySlice<SHA256Digest>, _ b: Bool) -> [SHA256Digest] {
        if m == d.count { return b ? [] : [naiveRoot(d)] }
        var k = 1
        while k * 2 < d.count { k *= 2 }
        return m <= k
            ? naiveSubproof(m, d.prefix(k), b) + [naiveRoot(d.dropFirst(k))]
            : naiveSubproof(m - k, d.dropFirst(k), false) + [naiveRoot(d.prefix(k))]
    }

    static let many: [SHA256Digest] = (0..<64).map { MerkleHash.leaf(Array("leaf \($0)".utf8)) }

    @Test func everyProofForEveryTreeUpTo64AgreesWithTheDefinitionsAndVerifies() throws {
        let tree = MerkleTree(leafHashes: Self.many)
        for n in 1...64 {
            let leaves = Self.many[..<n]
            let root = tree.root(size: UInt64(n))
            #expect(root == Self.naiveRoot(leaves))
            for i in 0..<n {
                let proof = try tree.inclusionProof(index: UInt64(i), treeSize: UInt64(n))
                #expect(proof == Self.naivePath(i, leaves))
                try MerkleProof.verifyInclusion(
                    leafHash: Self.many[i], index: UInt64(i), treeSize: UInt64(n), proof: proof, root: root)
                // The same proof for another leaf, another index or another size fails.
                #expect(throws: FormatError.self) {
                    try MerkleProof.verifyInclusion(
                        leafHash: Self.many[(i + 1) % 64], index: UInt64(i),
                        treeSize: UInt64(n), proof: proof, root: root)
                }
                if n > 1 {
                    #expect(throws: FormatError.self) {
                        try MerkleProof.verifyInclusion(
                            leafHash: Self.many[i], index: UInt64((i + 1) % n),
                            treeSize: UInt64(n), proof: proof, root: root)
                    }
                }
            }
            for m in 0...n {
                let proof = try tree.consistencyProof(from: UInt64(m), to: UInt64(n))
                #expect(proof == (m == 0 ? [] : Self.naiveSubproof(m, leaves, true)))
                try MerkleProof.verifyConsistency(
                    oldSize: UInt64(m), newSize: UInt64(n), oldRoot: tree.root(size: UInt64(m)),
                    newRoot: root, proof: proof)
            }
        }
    }

    @Test func mangledProofsFailForEveryTreeUpTo64() throws {
        let tree = MerkleTree(leafHashes: Self.many)
        let junk = MerkleHash.leaf([0xAB])
        for n in 2...64 {
            let root = tree.root(size: UInt64(n))
            for i in 0..<n {
                let proof = try tree.inclusionProof(index: UInt64(i), treeSize: UInt64(n))
                var flipped = proof
                flipped[proof.count - 1] = MerkleHash.node(proof[proof.count - 1], proof[0])
                for bad in [flipped, Array(proof.dropLast()), proof + [junk]] {
                    #expect(throws: FormatError.self) {
                        try MerkleProof.verifyInclusion(
                            leafHash: Self.many[i], index: UInt64(i), treeSize: UInt64(n), proof: bad, root: root)
                    }
                }
            }
            for m in 1..<n {
                let proof = try tree.consistencyProof(from: UInt64(m), to: UInt64(n))
                var flipped = proof
                flipped[0] = junk
                for bad in [flipped, Array(proof.dropLast()), proof + [junk], []] {
                    #expect(throws: FormatError.self) {
                        try MerkleProof.verifyConsistency(
                            oldSize: UInt64(m), newSize: UInt64(n), oldRoot: tree.root(size: UInt64(m)),
                            newRoot: root, proof: bad)
                    }
                }
                // A log that rewrote an old entry: the old root no longer matches.
                #expect(throws: FormatError.self) {
                    try MerkleProof.verifyConsistency(
                        oldSize: UInt64(m), newSize: UInt64(n), oldRoot: junk, newRoot: root, proof: proof)
                }
            }
        }
    }

    @Test func aRewrittenOrDroppedEntryBreaksConsistency() throws {
        let honest = MerkleTree(leafHashes: Self.many[..<20].map { $0 })
        var rewritten = Self.many[..<40].map { $0 }
        rewritten[7] = MerkleHash.leaf(Array("a different card".utf8))
        var dropped = Self.many[..<40].map { $0 }
        dropped.remove(at: 3)
        for other in [rewritten, dropped] {
            let lying = MerkleTree(leafHashes: other)
            #expect(throws: FormatError.self) {
                try MerkleProof.verifyConsistency(
                    oldSize: 20, newSize: lying.size, oldRoot: honest.root, newRoot: lying.root,
                    proof: try lying.consistencyProof(from: 20, to: lying.size))
            }
        }
    }

    @Test func degenerateCasesFollowTheRules() throws {
        let tree = MerkleTree(leafHashes: Self.many)
        let root4 = tree.root(size: 4)
        let root5 = tree.root(size: 5)
        try MerkleProof.verifyConsistency(oldSize: 4, newSize: 4, oldRoot: root4, newRoot: root4, proof: [])
        try MerkleProof.verifyConsistency(oldSize: 0, newSize: 5, oldRoot: MerkleHash.empty, newRoot: root5, proof: [])
        #expect(throws: FormatError.self) {
            try MerkleProof.verifyConsistency(oldSize: 4, newSize: 4, oldRoot: root4, newRoot: root5, proof: [])
        }
        #expect(throws: FormatError.self) {
            try MerkleProof.verifyConsistency(oldSize: 5, newSize: 4, oldRoot: root5, newRoot: root4, proof: [])
        }
        #expect(throws: FormatError.self) {
            try MerkleProof.verifyConsistency(oldSize: 0, newSize: 5, oldRoot: root4, newRoot: root5, proof: [])
        }
        #expect(throws: FormatError.self) {
            try MerkleProof.verifyInclusion(leafHash: Self.many[4], index: 4, treeSize: 4, proof: [], root: root4)
        }
        #expect(throws: FormatError.self) { try tree.inclusionProof(index: 64, treeSize: 64) }
        #expect(throws: FormatError.self) { try tree.consistencyProof(from: 5, to: 4) }
        #expect(throws: FormatError.self) { try tree.consistencyProof(from: 1, to: 65) }
    }
}
