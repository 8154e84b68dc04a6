public import GatehouseCrypto

/// Checks Merkle proofs exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 verify them (DIRECTORY.md §2).
///
/// Every check throws `integrityCheckFailed` when the proof does not hold; a verifier that
/// reached a different root is never told which hash was wrong, only that the proof failed.
public enum MerkleProof {
    /// Longest proof accepted: a tree of at most 2^63 leaves has at most 63 levels, plus one for
    /// the prepended first hash of a consistency proof.
    public static let maxLength = 64

    /// Checks that `leafHash` is leaf `index` of the tree of `treeSize` leaves whose root is `root`
    /// (RFC 9162 §2.1.3.2).
    public static func verifyInclusion(
        leafHash: SHA256Digest, index: UInt64, treeSize: UInt64, proof: [SHA256Digest], root: SHA256Digest
    ) throws(FormatError) {
        // Step 1: an index outside the tree has no proof.
        guard index < treeSize, proof.count <= maxLength else {
            throw .integrityCheckFailed("inclusion proof: leaf \(index) is not in a tree of \(treeSize)")
        }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw .integrityCheckFailed("inclusion proof: longer than the tree is deep") }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0, r.constantTimeEquals(root) else {
            throw .integrityCheckFailed(
                "inclusion proof: leaf \(index) does not lead to the root of tree size \(treeSize)")
        }
    }

    /// Checks that the tree of `oldSize` leaves with root `oldRoot` is a prefix of the tree of
    /// `newSize` leaves with root `newRoot` (RFC 9162 §2.1.4.2). The cases the RFC leaves to the
    /// caller are fixed here: equal sizes need equal roots and an empty proof, and the empty tree is
    /// a prefix of every tree with an empty proof.
    public static func verifyConsistency(
        oldSize: UInt64, newSize: UInt64, oldRoot: SHA256Digest, newRoot: SHA256Digest, proof: [SHA256Digest]
    ) throws(FormatError) {
        guard oldSize <= newSize else {
            throw .integrityCheckFailed("consistency proof: the tree shrank from \(oldSize) to \(newSize) leaves")
        }
        if oldSize == newSize {
            guard proof.isEmpty, oldRoot.constantTimeEquals(newRoot) else {
                throw .integrityCheckFailed("consistency proof: two different trees of \(oldSize) leaves")
            }
            return
        }
        if oldSize == 0 {
            guard proof.isEmpty, oldRoot.constantTimeEquals(MerkleHash.empty) else {
                throw .integrityCheckFailed("consistency proof: the empty tree has the empty root and an empty proof")
            }
            return
        }
        // Step 1: an empty proof proves nothing between two different non-empty trees.
        guard !proof.isEmpty, proof.count <= maxLength else {
            throw .integrityCheckFailed("consistency proof from \(oldSize) to \(newSize): wrong length \(proof.count)")
        }
        // Step 2: when the old tree is a complete subtree, its root is the proof's first node.
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        // Steps 3 and 4.
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        // Step 5.
        var fr = path[0]
        var sr = path[0]
        // Step 6.
        for c in path.dropFirst() {
            guard sn != 0 else { throw .integrityCheckFailed("consistency proof: longer than the tree is deep") }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        // Step 7.
        guard sn == 0, fr.constantTimeEquals(oldRoot), sr.constantTimeEquals(newRoot) else {
            throw .integrityCheckFailed(
                "consistency proof: the tree of \(newSize) leaves does not extend the tree of \(oldSize)")
        }
    }
}
