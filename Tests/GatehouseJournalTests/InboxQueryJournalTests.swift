import Foundation
import GatehouseFormat
import GatehouseJournal
import GatehouseTesting
import Testing

/// What the web pages ask of the journal: pages of the inbox by sender, time and subject text,
/// and the bundle a Send page's pack folder became. Both journals.
extension JournalTests {
    func published(_ n: Int, sender: String, subject: String, at time: Int64) throws -> (IncomingRecord, PackContext) {
        let record = IncomingRecord(
            bundleID: TestID.bundle(n), sender: TestID.ods(sender), state: .published, receivedAt: time,
            bundleSHA256: String(repeating: "0", count: 64), receipt: [UInt8(n)])
        return (record, PackContext(subject: subject, workflow: try Workflow("reception-summary"),
                                    nhsNumbers: ["9990000018"]))
    }

    @Test(arguments: JournalBackend.allCases)
    func theInboxIsFilteredBySenderTimeAndLiteralSubjectTextInPages(_ backend: JournalBackend) throws {
        let journal = try backend.open(in: folder).journal
        let packs = [(1, "A81001", "Discharge summary", 1_000), (2, "YOI123", "Reception 100% done", 2_000),
                     (3, "A81001", "DISCHARGE letter", 3_000), (4, "A81001", "Reception_x", 4_000)]
        for (n, sender, subject, time) in packs {
            let (record, context) = try published(n, sender: sender, subject: subject, at: Int64(time))
            try journal.insert(record, detail: "published", context: context)
        }
        func ids(_ change: (inout IncomingFilter) -> Void) throws -> [BundleID] {
            var filter = IncomingFilter()
            change(&filter)
            return try journal.incoming(matching: filter).map(\.record.bundleID)
        }
        let id = { (n: Int) in TestID.bundle(n) }
        #expect(try ids { $0.sender = TestID.ods("A81001") } == [id(4), id(3), id(1)])
        #expect(try ids { $0.until = 3_000 } == [id(2), id(1)])
        // ASCII letters in any case; % and _ are the characters typed, not wildcards.
        #expect(try ids { $0.subjectText = "discharge" } == [id(3), id(1)])
        #expect(try ids { $0.subjectText = "100%" } == [id(2)])
        #expect(try ids { $0.subjectText = "n_" } == [id(4)])
        #expect(try ids { $0.subjectText = "%" } == [id(2)])
        #expect(try ids { $0.limit = 2; $0.offset = 1 } == [id(3), id(2)])
        #expect(try ids { $0.sender = TestID.ods("A81001"); $0.limit = 2; $0.offset = 2 } == [id(1)])
    }

    @Test(arguments: JournalBackend.allCases)
    func aPackFolderLeadsToTheBundleClaimedFromIt(_ backend: JournalBackend) throws {
        let journal = try backend.open(in: folder).journal
        let r = record("00112233445566778899aabbccddeeff")
        let context = PackContext(subject: "Reception summary", workflow: try Workflow("reception-summary"),
                                  nhsNumbers: ["9990000018"])
        #expect(try journal.outgoingBundle(forPack: "send-1") == nil)
        try journal.insert([NewOutgoing(record: r, files: [], detail: "claimed", context: context, pack: "send-1")])
        #expect(try journal.outgoingBundle(forPack: "send-1") == r.bundleID)
        #expect(try journal.outgoingBundle(forPack: "send-2") == nil)
    }
}
