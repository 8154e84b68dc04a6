import GatehouseFormat
import Foundation
import GatehouseJournal
import GatehouseTesting
import Testing

/// The held states: an incoming bundle leaves `held` once, and never for `held`; an outgoing
/// `held` bundle is open (it still expires) and never replaces a final state. Both journals.
extension JournalTests {
    func incoming(_ id: BundleID, _ state: IncomingState, at time: Int64) -> IncomingRecord {
        IncomingRecord(
            bundleID: id, sender: TestID.ods("A81001"), state: state, receivedAt: time,
            bundleSHA256: String(repeating: "0", count: 64),
            reason: state == .held ? "unknown-sender: A81001 is not a partner here" : nil, receipt: [UInt8(time % 256)])
    }

    @Test(arguments: JournalBackend.allCases)
    func aHeldIncomingBundleIsResolvedOnceAndNeverReplacedAfterwards(_ backend: JournalBackend) throws {
        let journal = try backend.open(in: folder).journal
        let id = TestID.bundle("00112233445566778899aabbccddeeff")
        try journal.insert(incoming(id, .held, at: 1_000), detail: "held")
        try journal.insert(incoming(TestID.bundle("ffeeddccbbaa99887766554433221100"), .published, at: 1_500))
        #expect(try journal.heldIncoming().map(\.bundleID) == [id])
        #expect(try journal.resolveHeld(incoming(id, .held, at: 1_800)) == false)
        #expect(try journal.resolveHeld(incoming(id, .published, at: 2_000), detail: "card added"))
        #expect(try journal.incoming(id)?.state == .published && journal.incoming(id)?.receipt == [UInt8(2_000 % 256)])
        #expect(try journal.resolveHeld(incoming(id, .rejected, at: 3_000)) == false)
        #expect(try journal.incoming(id)?.state == .published)
        #expect(try journal.heldIncoming().isEmpty)
        #expect(try journal.transitions(of: id).map(\.state) == ["held", "published"])
    }

    @Test(arguments: JournalBackend.allCases)
    func aHeldOutgoingBundleStillExpiresAndNeverReopensAFinalOne(_ backend: JournalBackend) throws {
        let journal = try backend.open(in: folder).journal
        var held = OutgoingRecord(
            bundleID: TestID.bundle("00112233445566778899aabbccddeeff"), partner: TestID.ods("YOI123"), createdAt: 1_000, expiresAt: 5_000)
        try journal.insert(held, files: [])
        held.state = .held
        #expect(try journal.save(held, detail: "held by YOI123"))
        #expect(try journal.expiredOutgoing(now: 5_000).map(\.bundleID) == [held.bundleID])
        #expect(try journal.openOutgoingByPartner().map(\.state) == [.held])
        // A delivery journalled after the held receipt (it was awaited meanwhile) keeps it held.
        var late = held
        late.state = .delivered
        #expect(try journal.save(late) == false)
        #expect(try journal.outgoing(held.bundleID)?.state == .held)
        held.state = .acknowledged
        try journal.save(held)
        held.state = .held
        #expect(try journal.save(held) == false)
        #expect(try journal.outgoing(held.bundleID)?.state == .acknowledged)
    }
}
