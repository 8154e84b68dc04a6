import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// A gateway's directory client and an authority's home, on disk (docs/DIRECTORY.md §7, §9).
@Suite("directory: authority and gateway homes")
struct DirectoryClientTests {
    let folder: TemporaryDirectory
    let authority: NetworkAuthority
    let served: TileFolder

    init() throws {
        folder = try TemporaryDirectory()
        authority = NetworkAuthority(home: GatehouseHome(path: folder.appending("authority")))
        _ = try NetworkAuthority.initialise(home: authority.home, name: "directory.nhs.example/kit")
        served = TileFolder(path: folder.appending("served"))
    }

    /// An organisation initialised in the folder `name` (default: its code).
    func organisation(_ org: String, at name: String? = nil) throws -> (home: GatehouseHome, card: IdentityCard) {
        let home = GatehouseHome(path: folder.appending(name ?? org))
        let card = try KeyStore(home: home).initialise(org: try ODSCode(org), name: "Org \(org)")
        return (home, card)
    }

    func admitAndPublish(_ card: IdentityCard) throws {
        let now = KeyStore.now()
        try authority.stage(try DirectoryEntry.admit(card, validFrom: now - 60, validUntil: now + 86_400))
        _ = try authority.publish(key: try authority.loadRootKey(), mirrors: [served.path])
    }

    @Test func aGatewayFindsADirectoryPartnerAndAPinnedCardWins() throws {
        let practice = try organisation("A81001")
        let prison = try organisation("YOI123")
        try admitAndPublish(prison.card)
        let client = DirectoryClient(home: practice.home)
        try client.join(try authority.card())
        #expect(try client.sync(from: served) == .updated(0..<1))
        let store = PartnerStore(home: practice.home)
        let found = try #require(try store.knownCard(for: prison.card.org))
        #expect(found.card == prison.card && found.source == .directory(index: 0))
        #expect(try store.knownCard(for: try ODSCode("XHM01")) == nil)

        // Pinned after a phone call: the pinned card is used, whatever the directory says.
        _ = try store.add(prison.card)
        #expect(try store.knownCard(for: prison.card.org)?.source == .pinned)
    }

    @Test func aSavedEntryChangedOnDiskIsRefused() throws {
        let practice = try organisation("A81001")
        let prison = try organisation("YOI123")
        try admitAndPublish(prison.card)
        let client = DirectoryClient(home: practice.home)
        try client.join(try authority.card())
        _ = try client.sync(from: served)
        let file = client.log.path + "/tile/entries/000.p/1"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[60] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        #expect(throws: KitError.self) { try PartnerStore(home: practice.home).knownCard(for: prison.card.org) }
    }

    @Test func publishingIsSafeToRepeatAndPendingEntriesAreNotAppendedTwice() throws {
        let prison = try organisation("YOI123")
        let now = KeyStore.now()
        let entry = try DirectoryEntry.admit(prison.card, validFrom: now, validUntil: now + 86_400)
        try authority.stage(entry)
        let key = try authority.loadRootKey()
        #expect(try authority.publish(key: key).to == 1)
        // A crash before the pending file was removed: the same entry is staged again.
        try authority.stage(entry)
        #expect(try authority.publish(key: key).to == 1)
        #expect(try authority.pending().isEmpty)
    }

    @Test func joiningAnotherNetworkNeedsReplace() throws {
        let practice = try organisation("A81001")
        let client = DirectoryClient(home: practice.home)
        try client.join(try authority.card())
        let other = NetworkCard(
            verifier: try NoteVerifierKey(
                name: "directory.nhs.example/other", key: SigningSecretKey.generate().publicKey))
        #expect(throws: KitError.self) { try client.join(other) }
        try client.join(other, replace: true)
        #expect(try client.pinnedCard() == other)
    }
}

extension DirectoryClientTests {
    @Test func aCheckpointSeenFromAPartnerThatContradictsThisCopyIsEvidence() throws {
        let practice = try organisation("A81001")
        let prison = try organisation("YOI123")
        let hub = try organisation("XHM01")
        try admitAndPublish(prison.card)
        let client = DirectoryClient(home: practice.home)
        try client.join(try authority.card())
        _ = try client.sync(from: served)
        let key = try authority.loadRootKey()
        let verifier = try authority.card().verifier
        let now = KeyStore.now()

        // The same history, seen from a partner: consistent.
        #expect(try client.compare(try served.readCheckpoint()!, from: "YOI123") == .consistent)
        // Another key's checkpoint is nobody's evidence.
        let impostor = SigningSecretKey.generate()
        let forged = try DirectoryLog().checkpoint(
            verifier: try NoteVerifierKey(name: verifier.name, key: impostor.publicKey),
            key: impostor, time: now)
        #expect(throws: KitError.self) { try client.compare(forged.bytes, from: "YOI123") }

        // The authority shows the prison a log where XHM01 came first. Larger than the copy here,
        // it waits for the next sync, which then judges it.
        var other = DirectoryLog()
        other.append(try DirectoryEntry.admit(hub.card, validFrom: now - 60, validUntil: now + 86_400))
        let split = try other.checkpoint(verifier: verifier, key: key, time: now)
        other.append(try DirectoryEntry.admit(prison.card, validFrom: now - 60, validUntil: now + 86_400))
        let ahead = try other.checkpoint(verifier: verifier, key: key, time: now)
        #expect(try client.compare(ahead.bytes, from: "YOI123") == .pending)
        try admitAndPublish(hub.card)
        #expect(try client.sync(from: served) == .updated(1..<2))
        #expect(try client.compareSeen().count == 1)
        // Same size or smaller, other root: judged at once.
        guard case .equivocation(let evidence) = try client.compare(split.bytes, from: "YOI123") else {
            Issue.record("the split view was not caught")
            return
        }
        #expect(FileManager.default.contents(atPath: evidence) == Data(split.bytes))

        // Proof on file: nothing new the authority signs is trusted any more; what was verified
        // before stays. Moved aside by a person, the gateway follows again.
        try admitAndPublish(try organisation("B82002").card)
        let proof = try #require(client.forkEvidence())
        #expect(try client.sync(from: served) == .refused(.halted(trusted: 2), evidence: proof))
        #expect(try client.mirror()?.log.size == 2)
        #expect(try PartnerStore(home: practice.home).knownCard(for: hub.card.org) != nil)
        try FileManager.default.moveItem(atPath: client.evidencePath, toPath: folder.appending("dealt-with"))
        #expect(try client.sync(from: served) == .updated(2..<3))
        #expect((FileOperations.listFolder(client.seenPath) ?? []).isEmpty)
    }
}

extension DirectoryClientTests {
    @Test func comparingAPartnersCheckpointUsesTheLoadedCopyNotAReload() throws {
        // Every receipt from a partner that follows the network carries a checkpoint; reloading
        // the whole copy for each cost ~290 ms a record at 100,000 entries (bench/RESULTS.md).
        let practice = try organisation("A81001")
        let prison = try organisation("YOI123")
        try admitAndPublish(prison.card)
        let client = DirectoryClient(home: practice.home)
        try client.join(try authority.card())
        _ = try client.sync(from: served)
        let offered = try served.readCheckpoint()!
        #expect(try client.compare(offered, from: "YOI123") == .consistent)
        // With the entry tiles gone from disk, only the copy loaded before can answer.
        try FileManager.default.removeItem(atPath: client.log.path + "/tile")
        #expect(try client.compare(offered, from: "YOI123") == .consistent)
    }
}
