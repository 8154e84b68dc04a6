public import GatehouseCrypto

/// An append-only Merkle tree over leaf hashes (RFC 9162 §2.1, DIRECTORY.md §2), keeping the hash
/// of every complete aligned subtree so that any root, inclusion proof or consistency proof costs
/// O(log n) hashes. The stored level `8·L` is exactly what the level-`L` tiles of tlog-tiles hold.
public struct MerkleTree: Sendable {
    /// `levels[h][i]` is the hash of the complete subtree of 2^h leaves starting at leaf i·2^h.
    public private(set) var levels: [[SHA256Digest]] = [[]]

    /// An empty tree.
    public init() {}

    /// A tree over these leaf hashes, in order.
    public init(leafHashes: [SHA256Digest]) {
        for hash in leafHashes { append(leafHash: hash) }
    }

    /// The number of leaves.
    public var size: UInt64 { UInt64(levels[0].count) }

    /// Appends one leaf hash, completing every subtree it closes.
    public mutating func append(leafHash: SHA256Digest) {
        levels[0].append(leafHash)
        var level = 0
        while levels[level].count % 2 == 0 {
            let count = levels[level].count
            let parent = MerkleHash.node(levels[level][count - 2], levels[level][count - 1])
            if levels.count == level + 1 { levels.append([]) }
            levels[level + 1].append(parent)
            level += 1
        }
    }

    /// Appends the leaf hash of `entry`.
    public mutating func append(entry: [UInt8]) { append(leafHash: MerkleHash.leaf(entry)) }

    /// MTH(D[start:end]) for 0 ≤ start ≤ end ≤ size.
    public func hash(_ start: UInt64, _ end: UInt64) -> SHA256Digest {
        precondition(start <= end && end <= size, "range \(start)..<\(end) outside a tree of \(size)")
        let n = end - start
        if n == 0 { return MerkleHash.empty }
        if n & (n - 1) == 0, start % n == 0 {
            let height = n.trailingZeroBitCount
            return levels[height][Int(start >> UInt64(height))]
        }
        let k = MerkleHash.split(n)
        return MerkleHash.node(hash(start, start + k), hash(start + k, end))
    }

    /// The root hash of the tree's first `size` leaves.
    public func root(size treeSize: UInt64) -> SHA256Digest { hash(0, treeSize) }

    /// The root hash of the whole tree.
    public var root: SHA256Digest { hash(0, size) }

    /// The inclusion proof of leaf `index` in the tree of its first `treeSize` leaves
    /// (RFC 9162 §2.1.3.1, PATH).
    public func inclusionProof(index: UInt64, treeSize: UInt64) throws(FormatError) -> [SHA256Digest] {
        guard index < treeSize, treeSize <= size else {
            throw .invalidInput("no leaf \(index) in a tree of \(treeSize) (the log holds \(size))")
        }
        return path(index, 0, treeSize)
    }

    private func path(_ m: UInt64, _ start: UInt64, _ end: UInt64) -> [SHA256Digest] {
        let n = end - start
        if n == 1 { return [] }
        let k = MerkleHash.split(n)
        if m < k { return path(m, start, start + k) + [hash(start + k, end)] }
        return path(m - k, start + k, end) + [hash(start, start + k)]
    }

    /// The consistency proof between the trees of the first `oldSize` and `newSize` leaves
    /// (RFC 9162 §2.1.4.1, PROOF). Empty when `oldSize` is 0 or equals `newSize`.
    public func consistencyProof(from oldSize: UInt64, to newSize: UInt64) throws(FormatError) -> [SHA256Digest] {
        guard oldSize <= newSize, newSize <= size else {
            throw .invalidInput("no consistency proof from \(oldSize) to \(newSize) (the log holds \(size))")
        }
        if oldSize == 0 || oldSize == newSize { return [] }
        return subproof(oldSize, 0, newSize, true)
    }

    private func subproof(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ complete: Bool) -> [SHA256Digest] {
        let n = end - start
        if m == n { return complete ? [] : [hash(start, end)] }
        let k = MerkleHash.split(n)
        if m <= k { return subproof(m, start, start + k, complete) + [hash(start + k, end)] }
        return subproof(m - k, start + k, end, false) + [hash(start, start + k)]
    }
}
