import Testing

@testable import GatehouseDaemon

/// The quarantine's bounds as a value: per group, then in all, oldest first, never the newest.
@Suite("Quarantine bounds")
struct QuarantineIndexTests {
    typealias Item = QuarantineIndex.Item

    @Test func eachGroupKeepsItsNewestItems() {
        var index = QuarantineIndex()
        var removed: [String] = []
        for i in 0..<5 { removed += index.add(Item(name: "u\(i)", group: "unverified", bytes: 10), perGroup: 3, maxBytes: 1 << 30) }
        removed += index.add(Item(name: "y0", group: "YOI123", bytes: 10), perGroup: 3, maxBytes: 1 << 30)
        #expect(removed == ["u0", "u1"])
        #expect(index.items.map(\.name) == ["u2", "u3", "u4", "y0"])
        #expect(index.totalBytes == 40)
    }

    /// A flood of unverified junk naming a partner never evicts that partner's proven evidence
    /// by count; only the total byte bound removes the oldest of all.
    @Test func aFloodOfUnverifiedItemsEvictsOnlyItsOwnGroupUntilTheByteBound() {
        var index = QuarantineIndex([Item(name: "proof", group: "YOI123", bytes: 100)])
        for i in 0..<50 { _ = index.add(Item(name: "junk\(i)", group: "unverified", bytes: 1), perGroup: 10, maxBytes: 1000) }
        #expect(index.items.first?.name == "proof")
        #expect(index.items.count == 11)
        // Past the byte bound the oldest go, whatever their group; the newest always stays.
        let removed = index.add(Item(name: "big", group: "unverified", bytes: 950), perGroup: 10, maxBytes: 1000)
        #expect(removed.first == "proof" || removed.contains("proof"), "\(removed)")
        #expect(index.items.last?.name == "big")
        #expect(index.totalBytes <= 1000 || index.items.count == 1)
        let alone = index.add(Item(name: "huge", group: "A81001", bytes: 5000), perGroup: 10, maxBytes: 1000)
        #expect(index.items.map(\.name) == ["huge"] && alone.contains("big"))
    }

    @Test func addingAnItemAgainReplacesIt() {
        var index = QuarantineIndex([Item(name: "a", group: "g", bytes: 5)])
        _ = index.add(Item(name: "a", group: "g", bytes: 7), perGroup: 3, maxBytes: 100)
        #expect(index.items == [Item(name: "a", group: "g", bytes: 7)])
        #expect(index.totalBytes == 7)
    }
}
