import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// A partner known only through the directory rotates its keys as a pinned one does, chained from
/// the root its listing names (DIRECTORY.md §7.3); the directory still decides which root counts.
extension DirectoryClientTests {
    @Test func aNewerCardIsUsedOnlyWhileChainedFromTheListedRoot() throws {
        let practice = try organisation("A81001")
        let prison = try organisation("YOI123")
        let org = prison.card.org
        try admitAndPublish(prison.card)
        let client = DirectoryClient(home: practice.home)
        try client.join(try authority.card())
        _ = try client.sync(from: served)
        let store = PartnerStore(home: practice.home)

        // The prison rotates, then rotates its root: both accepted, kept beside the directory.
        let rotated = try KeyStore(home: prison.home).rotate(grace: 60).card
        #expect(try store.update(with: rotated).outcome == .updated)
        let reRooted = try KeyStore(home: prison.home).rotate(grace: 60, rotateRoot: true).card
        #expect(try store.update(with: reRooted).outcome == .rootRotated)
        #expect(try store.knownCard(for: org)?.card == reRooted)
        #expect(try store.knownCard(for: org)?.source == .directory(index: 0))
        #expect(try store.card(for: org) == nil, "never pinned")
        // The same card again changes nothing; an older one, or an impostor's, is refused.
        #expect(try store.update(with: reRooted).outcome == .unchanged)
        #expect(throws: KitError.self) { try store.update(with: rotated) }
        let impostor = try organisation("YOI123", at: "impostor")
        #expect(throws: KitError.self) { try store.update(with: impostor.card) }
        // An organisation the directory does not list is nobody's to update.
        #expect(throws: KitError.self) { try store.update(with: try organisation("XHM01").card) }
        // A newer card kept on disk that the listed root never endorsed is not used.
        let newerImpostor = try KeyStore(home: impostor.home).rotate(grace: 60).card
        try Data(newerImpostor.text.utf8).write(to: URL(fileURLWithPath: store.listedCardPath(for: org)))
        #expect(try store.knownCard(for: org)?.card == prison.card)

        // Admitted again under another root (re-checked by the authority): that root counts now.
        try Data(reRooted.text.utf8).write(to: URL(fileURLWithPath: store.listedCardPath(for: org)))
        let again = try organisation("YOI123", at: "prison-again")
        try admitAndPublish(again.card)
        _ = try client.sync(from: served)
        #expect(try store.knownCard(for: org)?.card == again.card)
    }
}
