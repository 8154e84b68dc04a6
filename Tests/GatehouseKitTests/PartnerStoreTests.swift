import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

@Suite("Partner store")
struct PartnerStoreTests {
    let folder: TemporaryDirectory
    let store: PartnerStore

    /// A day after the cards are made: every card here is current whatever the machine's clock says.
    let now = KitFixtures.created + KitFixtures.day

    init() throws {
        folder = try TemporaryDirectory()
        store = PartnerStore(home: GatehouseHome(path: folder.path))
    }

    func card(org: String = "XHM01", name: String = "HMP Northgate Healthcare", version: UInt64 = 1,
              created: UInt64 = KitFixtures.created, root: borrowing SigningSecretKey) throws -> IdentityCard {
        let first = KeyManifest.first(signingKey: SigningSecretKey.generate().publicKey,
                                      encryptionKey: AgreementSecretKey.generate().publicKey, created: created)
        return try IdentityCard.make(org: ODSCode(org), name: name, root: root,
                                     manifest: KeyManifest(version: version, created: first.created, expires: first.expires, keys: first.keys))
    }

    @Test func addThenReadBack() throws {
        let root = SigningSecretKey.generate()
        let prison = try card(root: root)
        #expect(try store.add(prison, now: now) == .added)
        #expect(try store.card(for: KitFixtures.prison) == prison)
        #expect(try store.add(prison, now: now) == .unchanged)
        #expect(try store.card(for: KitFixtures.practice) == nil)
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.requireCard(for: KitFixtures.practice) }?.category == .unknownPartner)
        let text = try String(contentsOfFile: store.cardPath(for: KitFixtures.prison), encoding: .utf8)
        #expect(text == prison.text)
    }

    @Test func differentRootIsAConflictUnlessReplacing() throws {
        let pinned = try card(root: SigningSecretKey.generate())
        try store.add(pinned, now: now)
        // A higher manifest version does not help a root the pinned one never endorsed.
        let impostor = try card(version: 2, created: 1_795_599_999, root: SigningSecretKey.generate())
        let error = KitFixtures.kitError { () throws(KitError) in try store.add(impostor, now: now) }
        #expect(error?.category == .partnerConflict)
        #expect(error?.message.contains(pinned.fingerprint) == true)
        #expect(try store.card(for: KitFixtures.prison) == pinned)
        #expect(try store.add(impostor, replace: true, now: now) == .replaced)
        #expect(try store.card(for: KitFixtures.prison) == impostor)
    }

    @Test func sameRootNewerCardUpdatesOlderCardIsRefused() throws {
        let root = SigningSecretKey.generate()
        let first = try card(version: 1, root: root)
        let rotated = try card(version: 2, root: root)
        try store.add(first, now: now)
        #expect(try store.add(rotated, now: now) == .updated)
        #expect(KitFixtures.kitError { () throws(KitError) in try store.add(first, now: now) }?.category == .partnerConflict)
        // The manifest version decides, not the time: a later card with the same version is no update.
        let later = try card(version: 2, created: KitFixtures.created + 600, root: root)
        #expect(KitFixtures.kitError { () throws(KitError) in try store.add(later, now: now) }?.category == .partnerConflict)
        #expect(try store.card(for: KitFixtures.prison) == rotated)
        // Replacing on purpose may go back.
        #expect(try store.add(first, replace: true, now: now) == .replaced)
        #expect(try store.card(for: KitFixtures.prison) == first)
    }

    @Test func listIsSortedAndSkipsTemporaryFiles() throws {
        for org in ["YOI123", "A81001", "XHM01"] { try store.add(card(org: org, root: SigningSecretKey.generate()), now: now) }
        _ = FileManager.default.createFile(atPath: folder.appending("partners/.XHM01.card.tmp-0123"), contents: Data("junk".utf8))
        _ = FileManager.default.createFile(atPath: folder.appending("partners/notes.txt"), contents: Data("junk".utf8))
        #expect(try store.list().map(\.org.value) == ["A81001", "XHM01", "YOI123"])
        #expect(try PartnerStore(home: GatehouseHome(path: folder.appending("nowhere"))).list().isEmpty)
    }

    @Test func tamperedOrMisfiledCardsAreRefused() throws {
        let prison = try card(root: SigningSecretKey.generate())
        try store.add(prison, now: now)
        let path = store.cardPath(for: KitFixtures.prison)
        // Filed under another organisation's name.
        try FileManager.default.copyItem(atPath: path, toPath: folder.appending("partners/A81001.card"))
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.card(for: KitFixtures.practice) }?.category == .invalidCard)
        // Edited on disk.
        let edited = prison.text.replacing("HMP Northgate", with: "HMP Northgat3")
        try Data(edited.utf8).write(to: URL(fileURLWithPath: path))
        let error = KitFixtures.kitError { () throws(KitError) in _ = try store.card(for: KitFixtures.prison) }
        #expect(error?.category == .invalidCard)
        #expect(error?.message.contains(path) == true)
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.list() }?.category == .invalidCard)
    }
}
