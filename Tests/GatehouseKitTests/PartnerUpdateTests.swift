import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// `PartnerStore.update`: a partner's newer manifest arriving through the mailboxes
/// (FORMAT.md §5.2, §5.3). Only a pinned partner, only a higher version, only its pinned root or
/// a root that root endorsed.
extension PartnerStoreTests {
    func prisonCard(version: UInt64, root: String = "northgate-root-0", history: [String] = [], keys: String = "a",
              created: UInt64 = KitFixtures.created, lifetime: UInt64 = KeyManifest.defaultLifetime) throws -> IdentityCard {
        try KitFixtures.prisonCard(version: version, root: root, history: history, keys: keys, created: created, lifetime: lifetime)
    }

    func stored() throws -> IdentityCard? { try store.card(for: KitFixtures.prison) }

    func updateError(_ card: IdentityCard, now: UInt64? = nil) -> KitError? {
        KitFixtures.kitError { () throws(KitError) in try store.update(with: card, now: now ?? self.now) }
    }

    @Test func aHigherVersionIsAccepted() throws {
        let first = try prisonCard(version: 1)
        try store.add(first, now: now)
        let second = try prisonCard(version: 2, keys: "b")
        let result = try store.update(with: second, now: now)
        #expect(result.outcome == .updated)
        #expect(result.previous == first)
        #expect(try stored() == second)
        // Versions need not be consecutive.
        let fifth = try prisonCard(version: 5, keys: "c")
        #expect(try store.update(with: fifth, now: now).outcome == .updated)
        #expect(try stored() == fifth)
    }

    @Test func theSameCardAgainIsUnchanged() throws {
        let first = try prisonCard(version: 1)
        try store.add(first, now: now)
        let before = try Data(contentsOf: URL(fileURLWithPath: store.cardPath(for: KitFixtures.prison)))
        let result = try store.update(with: first, now: now)
        #expect(result.outcome == .unchanged)
        #expect(result.previous == first)
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.cardPath(for: KitFixtures.prison))) == before)
    }

    @Test func anEqualOrLowerVersionIsRefused() throws {
        let held = try prisonCard(version: 2)
        try store.add(held, now: now)
        let sameVersion = try prisonCard(version: 2, keys: "b")
        let older = try prisonCard(version: 1, keys: "c")
        #expect(sameVersion != held)
        for refused in [sameVersion, older] {
            let error = updateError(refused)
            #expect(error?.category == .partnerConflict)
            #expect(error?.message.contains("not newer than the version 2") == true, "\(String(describing: error))")
            #expect(try stored() == held)
        }
    }

    @Test func aRootThePinnedOneDidNotEndorseIsRefused() throws {
        let held = try prisonCard(version: 1)
        try store.add(held, now: now)
        let cases = [
            try prisonCard(version: 2, root: "northgate-impostor"),
            // A valid chain, but from a root this store never pinned.
            try prisonCard(version: 2, root: "northgate-impostor", history: ["northgate-stranger"]),
        ]
        for refused in cases {
            let error = updateError(refused)
            #expect(error?.category == .partnerConflict)
            #expect(error?.message.contains(held.fingerprint) == true)
            #expect(try stored() == held)
        }
    }

    @Test func anEndorsedRootIsPinnedInPlaceOfTheOldOne() throws {
        let held = try prisonCard(version: 1)
        try store.add(held, now: now)
        let rotated = try prisonCard(version: 2, root: "northgate-root-1", history: ["northgate-root-0"])
        let result = try store.update(with: rotated, now: now)
        #expect(result.outcome == .rootRotated)
        #expect(result.previous == held)
        #expect(try stored()?.rootKey == KitFixtures.signingKey("northgate-root-1").publicKey)
        // From now on the old root is not enough: a card signed by it alone is refused.
        let rollback = try prisonCard(version: 3, root: "northgate-root-0")
        #expect(updateError(rollback)?.category == .partnerConflict)
        #expect(try stored() == rotated)
    }

    @Test func aPartnerSeveralRotationsBehindFollowsTheChain() throws {
        // Pinned at root 0, this partner missed the card of root 1 and receives root 2's.
        try store.add(prisonCard(version: 1), now: now)
        let latest = try prisonCard(version: 3, root: "northgate-root-2", history: ["northgate-root-0", "northgate-root-1"])
        #expect(try store.update(with: latest, now: now).outcome == .rootRotated)
        #expect(try stored() == latest)
    }

    @Test func anEndorsedRootNeedsAHigherVersion() throws {
        let held = try prisonCard(version: 2)
        try store.add(held, now: now)
        let notNewer = try prisonCard(version: 2, root: "northgate-root-1", history: ["northgate-root-0"])
        #expect(updateError(notNewer)?.category == .partnerConflict)
        #expect(try stored() == held)
    }

    @Test func anExpiredManifestIsRefused() throws {
        let held = try prisonCard(version: 1)
        try store.add(held, now: now)
        let expiring = try prisonCard(version: 2, keys: "b", lifetime: 30 * KitFixtures.day)
        let expires = KitFixtures.created + 30 * KitFixtures.day
        for late in [expires, expires + 1] {
            let error = updateError(expiring, now: late)
            #expect(error?.category == .invalidCard)
            #expect(error?.message.contains("expired") == true, "\(String(describing: error))")
            #expect(try stored() == held)
        }
        #expect(try store.update(with: expiring, now: expires - 1).outcome == .updated)
        // Nor is an expired card pinned by hand.
        let other = PartnerStore(home: GatehouseHome(path: folder.appending("other")))
        #expect(KitFixtures.kitError { () throws(KitError) in try other.add(expiring, now: expires) }?.category == .invalidCard)
        #expect(try other.card(for: KitFixtures.prison) == nil)
    }

    @Test func anUnknownPartnerIsNeverPinnedByAnUpdate() throws {
        let error = updateError(try prisonCard(version: 1))
        #expect(error?.category == .unknownPartner)
        #expect(try stored() == nil)
        #expect(!FileManager.default.fileExists(atPath: store.cardPath(for: KitFixtures.prison)))
    }

    @Test func plannedOutcomeStoresNothing() throws {
        let held = try prisonCard(version: 1)
        try store.add(held, now: now)
        #expect(try store.plannedOutcome(for: prisonCard(version: 2, keys: "b"), now: now) == .updated)
        #expect(try store.plannedOutcome(for: prisonCard(version: 2, root: "northgate-root-1", history: ["northgate-root-0"]), now: now) == .rootRotated)
        #expect(try stored() == held)
    }
}
