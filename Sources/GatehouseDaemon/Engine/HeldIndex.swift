import GatehouseFormat
import GatehouseKit

/// What `spool/held/` holds: bundles whose claimed sender is not pinned here, oldest first, with
/// sizes, and whether each one's `held` receipt went out. A value with no I/O: the engine reads
/// it from the journal at first use and performs what it decides.
///
/// Nothing here is proven (the sender could not be checked), so the bounds are what a forger
/// cannot get round: at most `perSender` items per claimed sender, `maxBytes` and
/// ``GatehouseKit/ReceiveLimits/heldMaxItems`` in all. A bundle beyond them is refused, never
/// held in place of an older one: a flood cannot push a real partner's held bundle out.
struct HeldIndex: Sendable, Equatable {
    /// One held bundle.
    struct Item: Sendable, Equatable {
        /// The bundle id, also its folder's name in `spool/held/`.
        let id: BundleID
        /// The sender its header claims.
        let sender: ODSCode
        /// When it was held (ms since the epoch).
        let heldAt: Int64
        /// The bundle's size.
        let bytes: UInt64
        /// True once its `held` receipt was sent (its final receipt then follows it).
        var answered: Bool
    }

    private(set) var items: [Item] = []
    private(set) var totalBytes: UInt64 = 0

    /// An index of `items`, oldest first.
    init(_ items: [Item] = []) {
        for item in items { add(item) }
    }

    /// Why a new bundle of `bytes` claimed by `sender` cannot be held, or nil when it can.
    func refusal(sender: ODSCode, bytes: UInt64, perSender: Int, maxBytes: UInt64, maxItems: Int) -> String? {
        if items.count >= maxItems { return "\(items.count) bundles are held already, the most this gateway holds" }
        if items.count(where: { $0.sender == sender }) >= perSender {
            return "\(perSender) bundles claiming to be from \(sender) are held already ([limits] held_per_sender)"
        }
        if totalBytes + bytes > maxBytes {
            return "holding its \(bytes) bytes would pass [limits] held_max_mb (\(maxBytes >> 20) MiB held at most)"
        }
        return nil
    }

    /// Adds `item` as the newest (replacing an item with the same id).
    mutating func add(_ item: Item) {
        remove(item.id)
        items.append(item)
        totalBytes += item.bytes
    }

    /// Forgets the item `id`, if held.
    mutating func remove(_ id: BundleID) {
        guard let index = items.firstIndex(where: { $0.id == id }) else { return }
        totalBytes -= items.remove(at: index).bytes
    }

    /// Records that `id`'s `held` receipt was sent.
    mutating func markAnswered(_ id: BundleID) {
        if let index = items.firstIndex(where: { $0.id == id }) { items[index].answered = true }
    }

    /// The item `id`, if held.
    func item(_ id: BundleID) -> Item? { items.first { $0.id == id } }
}
