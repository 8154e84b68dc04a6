public import GatehouseCrypto

/// The hashes of a Merkle tree as RFC 9162 §2.1.1 defines them (DIRECTORY.md §2), with SHA-256.
///
/// Leaves and interior nodes hash under different one-byte prefixes so that a node can never be
/// passed off as a leaf (the second-preimage attack on plain Merkle trees).
public enum MerkleHash {
    /// Length of every hash in the tree.
    public static let length = 32
    /// The prefix of a leaf hash (RFC 9162 §2.1.1).
    static let leafPrefix: UInt8 = 0x00
    /// The prefix of an interior node hash (RFC 9162 §2.1.1).
    static let nodePrefix: UInt8 = 0x01

    /// MTH({}) = SHA-256() — the root of the empty tree.
    public static let empty: SHA256Digest = SHA256Hasher.hash([])

    /// MTH({d}) = SHA-256(0x00 || d).
    public static func leaf(_ entry: [UInt8]) -> SHA256Digest {
        let hasher = SHA256Hasher()
        hasher.update([leafPrefix])
        hasher.update(entry)
        return hasher.finalize()
    }

    /// SHA-256(0x01 || left || right).
    public static func node(_ left: SHA256Digest, _ right: SHA256Digest) -> SHA256Digest {
        let hasher = SHA256Hasher()
        hasher.update([nodePrefix])
        hasher.update(left.bytes)
        hasher.update(right.bytes)
        return hasher.finalize()
    }

    /// The largest power of two strictly below `n` (n ≥ 2): the split point k of RFC 9162 §2.1.1.
    static func split(_ n: UInt64) -> UInt64 {
        precondition(n >= 2, "split of a tree with fewer than two leaves")
        return UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }
}
