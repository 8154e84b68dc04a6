/// What `spool/quarantine/` holds, oldest first, by group, with sizes: the gateway keeps at most
/// `perGroup` items of one group and `maxBytes` in all, removing the oldest first.
///
/// Groups are what an attacker cannot choose freely: a bundle's sender only when its outer
/// signature verified, else `unverified` (a cleartext sender field is anyone's to write; grouping
/// by it would give a flood unlimited groups, and let it evict a real partner's evidence).
/// A value with no I/O: the engine performs the removals it returns.
struct QuarantineIndex: Sendable, Equatable {
    /// One kept item: its folder name in the quarantine, its group and its size in bytes.
    struct Item: Sendable, Equatable {
        let name: String
        let group: String
        let bytes: UInt64
    }

    /// The group of everything refused before its sender was proven.
    static let unverified = "unverified"

    private(set) var items: [Item] = []
    private(set) var totalBytes: UInt64 = 0

    /// An index of `items`, oldest first.
    init(_ items: [Item] = []) {
        for item in items { append(item) }
    }

    /// Adds `item` as the newest and returns the folder names to remove: the oldest of its group
    /// beyond `perGroup`, then the oldest of all while more than `maxBytes` are kept (never the
    /// new item itself, so the latest refusal is always there to read).
    mutating func add(_ item: Item, perGroup: Int, maxBytes: UInt64) -> [String] {
        if let old = items.firstIndex(where: { $0.name == item.name }) { _ = remove(at: old) }
        append(item)
        var removed: [String] = []
        var inGroup = items.filter { $0.group == item.group }.count
        while inGroup > max(1, perGroup), let oldest = items.firstIndex(where: { $0.group == item.group }) {
            removed.append(remove(at: oldest))
            inGroup -= 1
        }
        while totalBytes > maxBytes, items.count > 1 {
            removed.append(remove(at: 0))
        }
        return removed
    }

    private mutating func append(_ item: Item) {
        items.append(item)
        totalBytes += item.bytes
    }

    private mutating func remove(at index: Int) -> String {
        let item = items.remove(at: index)
        totalBytes -= item.bytes
        return item.name
    }
}
