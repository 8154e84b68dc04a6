import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// `KeyStore.rotate`, `destroyRetiredSecrets` and `setMailbox` (FORMAT.md §5.1, §5.2). Revocation
/// is in `KeyRevocationTests`.
@Suite("Key store: rotation")
struct KeyLifecycleTests {
    let folder: TemporaryDirectory
    let home: GatehouseHome
    let store: KeyStore
    let initial: IdentityCard
    let t0 = KitFixtures.created
    let day = KitFixtures.day

    init() throws {
        folder = try TemporaryDirectory()
        home = GatehouseHome(path: folder.appending("home"))
        store = KeyStore(home: home)
        initial = try store.initialise(org: KitFixtures.practice, name: "Riverside Medical Practice", created: KitFixtures.created)
    }

    func mode(_ path: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// The partner store of another organisation's home, `name` in the test folder.
    func partnerStore(_ name: String) throws -> PartnerStore {
        try FileManager.default.createDirectory(atPath: folder.appending(name), withIntermediateDirectories: true)
        return PartnerStore(home: GatehouseHome(path: folder.appending(name)))
    }

    func keyFiles() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: home.keysPath).sorted() }

    @Test func rotateSupersedesTheCurrentKeys() throws {
        let (now, grace) = (t0 + 10 * day, 14 * day)
        let change = try store.rotate(grace: grace, now: now)
        let card = change.card
        #expect(change.old == initial)
        #expect(try store.loadOwnCard() == card)
        #expect(card.manifest.version == initial.manifest.version + 1)
        #expect(card.created == now && card.expires == now + KeyManifest.defaultLifetime)
        #expect(card.rootKey == initial.rootKey && card.manifest.rootHistory.isEmpty && change.newRootPath == nil)
        #expect(card.mailbox == initial.mailbox && card.sshKey == initial.sshKey)
        // New keys, current from now for a year, in new 0600 files.
        #expect(card.signingKeyID != initial.signingKeyID && card.encryptionKeyID != initial.encryptionKeyID)
        #expect(change.created == [card.signingKeyID, card.encryptionKeyID])
        for record in [card.manifest.currentSigning, card.manifest.currentEncryption] {
            #expect(record.from == now && record.state == .current(until: now + KeyManifest.defaultLifetime))
            #expect(try mode(store.secretPath(for: record)) == 0o600)
        }
        #expect(try store.loadSigningKey().publicKey == card.signingKey)
        #expect(try store.loadEncryptionKey(id: card.encryptionKeyID)?.publicKey == card.encryptionKey)
        // The old keys: superseded now, honoured for the grace window.
        let oldSigning = try #require(card.manifest.record(for: initial.signingKeyID))
        let oldEncryption = try #require(card.manifest.record(for: initial.encryptionKeyID))
        #expect(oldSigning.state == .superseded(at: now, until: now + grace))
        #expect(oldEncryption.state == .superseded(at: now, until: now + grace))
        // The old signing secret is gone at once; the old encryption secret stays for the window.
        #expect(change.destroyed == [initial.signingKeyID])
        #expect(!store.hasSecret(for: oldSigning) && !exists(store.signingKeyPath(id: initial.signingKeyID)))
        #expect(store.hasSecret(for: oldEncryption))
        #expect(try store.loadEncryptionKey(id: initial.encryptionKeyID)?.publicKey == initial.encryptionKey)
        // What the old key signed before the rotation still verifies for partners, during the window.
        #expect(try card.signer(initial.signingKeyID, signedAt: now - 1, now: now + grace).key == initial.signingKey)
        try store.verifyKeys()
    }

    @Test func theOldEncryptionSecretGoesWhenItsWindowCloses() throws {
        let (now, grace) = (t0 + 10 * day, 14 * day)
        let card = try store.rotate(grace: grace, now: now).card
        let oldEncryption = try #require(card.manifest.record(for: initial.encryptionKeyID))
        #expect(try store.destroyRetiredSecrets(now: now + grace) == [])
        #expect(store.hasSecret(for: oldEncryption))
        #expect(try store.destroyRetiredSecrets(now: now + grace + 1) == [initial.encryptionKeyID])
        #expect(!store.hasSecret(for: oldEncryption))
        #expect(try store.loadEncryptionKey(id: initial.encryptionKeyID)?.publicKey == nil)
        // Nothing else goes, and a second pass finds nothing.
        #expect(try store.destroyRetiredSecrets(now: now + grace + 1) == [])
        try store.verifyKeys()
    }

    @Test func rotatingTheRootEndorsesTheNewRoot() throws {
        let change = try store.rotate(grace: day, now: t0 + day, rotateRoot: true)
        let card = change.card
        #expect(card.rootKey != initial.rootKey)
        #expect(card.manifest.rootHistory.map(\.root) == [initial.rootKey])
        #expect(card.manifest.rootHistory[0].endorses(card.rootKey, org: KitFixtures.practice))
        #expect(try IdentityCard.parse(card.text) == card)
        #expect(change.newRootPath == store.rootKeyPath)
        #expect(change.created.contains(KeyID(signing: card.rootKey)))
        #expect(try store.rootKeyState() == .plain)
        #expect(try mode(store.rootKeyPath) == 0o600)
        #expect(try store.loadRootKey().publicKey == card.rootKey)
        // A partner who pinned the old root follows without a phone call.
        let partners = try partnerStore("prison")
        try partners.add(initial, now: t0 + day)
        #expect(try partners.update(with: card, now: t0 + day).outcome == .rootRotated)
        // A second rotation extends the chain, so a partner still at the first root follows too.
        let second = try store.rotate(grace: day, now: t0 + 2 * day, rotateRoot: true).card
        #expect(second.manifest.rootHistory.map(\.root) == [initial.rootKey, card.rootKey])
        #expect(second.manifest.version == 3)
        let behind = try partnerStore("behind")
        try behind.add(initial, now: t0 + 2 * day)
        #expect(try behind.update(with: second, now: t0 + 2 * day).outcome == .rootRotated)
        #expect(try partners.update(with: second, now: t0 + 2 * day).outcome == .rootRotated)
    }

    @Test func aProtectedRootIsReplacedByAProtectedRoot() throws {
        _ = try store.protectRootKey(passphrase: KitFixtures.passphrase())
        let files = try keyFiles()
        // Without the passphrase nothing is written.
        let refused = KitFixtures.kitError { () throws(KitError) in _ = try store.rotate(grace: day, now: t0 + day, rotateRoot: true) }
        #expect(refused?.category == .passphraseUnavailable)
        #expect(try store.loadOwnCard() == initial)
        #expect(try keyFiles() == files)

        let change = try store.rotate(grace: day, now: t0 + day, rotateRoot: true, passphrase: { KitFixtures.passphrase() })
        #expect(change.newRootPath == store.rootKeyPath)
        #expect(try store.rootKeyState() == .protected)
        #expect(try mode(store.rootKeyPath) == 0o600)
        #expect(try store.loadRootKey(passphrase: { KitFixtures.passphrase() }).publicKey == change.card.rootKey)
        #expect(KitFixtures.kitError { () throws(KitError) in _ = try store.loadRootKey() }?.category == .passphraseUnavailable)
        let wrong = KitFixtures.kitError { () throws(KitError) in
            _ = try store.loadRootKey(passphrase: { SecretBytes(copying: Array("incorrect horse battery staple".utf8)) })
        }
        // A wrong passphrase is reported as one, not as a damaged key file.
        #expect(wrong?.category == .wrongPassphrase)
    }

    @Test func anOfflineRootSignsTheRotation() throws {
        let offline = folder.appending("usb-root.key")
        _ = try store.protectRootKey(passphrase: KitFixtures.passphrase(), offline: offline)
        #expect(!exists(store.rootKeyPath))
        let missing = KitFixtures.kitError { () throws(KitError) in
            _ = try store.rotate(grace: day, now: t0 + day, passphrase: { KitFixtures.passphrase() })
        }
        // Kept offline, not damaged (the CLI's hint names --root-key).
        #expect(missing?.category == .rootKeyUnavailable)
        #expect(missing?.message.contains("not on this machine") == true)
        #expect(try store.loadOwnCard() == initial)

        // Operational keys only: the offline root signs, and stays as it is.
        let before = try Data(contentsOf: URL(fileURLWithPath: offline))
        let change = try store.rotate(grace: day, now: t0 + day, rootKey: offline, passphrase: { KitFixtures.passphrase() })
        #expect(change.card.rootKey == initial.rootKey && change.newRootPath == nil)
        #expect(change.card.manifest.version == 2)
        #expect(try Data(contentsOf: URL(fileURLWithPath: offline)) == before)
        #expect(!exists(store.rootKeyPath))

        // The root too, into a new file; the old root's file is then destroyed (it never signs again).
        let next = folder.appending("usb-root-2.key")
        let rotated = try store.rotate(grace: day, now: t0 + 2 * day, rotateRoot: true, rootKey: offline,
                                       passphrase: { KitFixtures.passphrase() }, newRootPath: next)
        #expect(rotated.newRootPath == next)
        #expect(!exists(offline) && !exists(next + ".new"))
        #expect(try mode(next) == 0o600)
        #expect(try store.rootKeyState(at: next) == .protected)
        #expect(try store.loadRootKey(from: next, passphrase: { KitFixtures.passphrase() }).publicKey == rotated.card.rootKey)
        #expect(rotated.card.manifest.rootHistory.map(\.root) == [initial.rootKey])
        #expect(!exists(store.rootKeyPath))
        // A new root file is never written over an existing one, and nothing is written then.
        let taken = folder.appending("taken.key")
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: taken))
        let files = try keyFiles()
        let clash = KitFixtures.kitError { () throws(KitError) in
            _ = try store.rotate(grace: day, now: t0 + 3 * day, rotateRoot: true, rootKey: next,
                                 passphrase: { KitFixtures.passphrase() }, newRootPath: taken)
        }
        #expect(clash?.category == .fileExists)
        #expect(try String(contentsOfFile: taken, encoding: .utf8) == "not a key\n")
        #expect(try store.loadOwnCard() == rotated.card)
        #expect(try keyFiles() == files)

        // Without a new path, the new root replaces the offline file it was given.
        let inPlace = try store.rotate(grace: day, now: t0 + 4 * day, rotateRoot: true, rootKey: next,
                                       passphrase: { KitFixtures.passphrase() })
        #expect(inPlace.newRootPath == next)
        #expect(!exists(next + ".new"))
        #expect(try store.rootKeyState(at: next) == .protected)
        #expect(try store.loadRootKey(from: next, passphrase: { KitFixtures.passphrase() }).publicKey == inPlace.card.rootKey)
    }

    @Test func aCardKeepsAtMost64PastKeys() throws {
        // Each rotation supersedes two keys: the 33rd would make 66.
        var now = t0
        for _ in 1...33 {
            now += day
            _ = try store.rotate(grace: 0, now: now)
        }
        let card = try store.loadOwnCard()
        #expect(card.manifest.version == 34)
        #expect(card.manifest.pastKeys.count == KeyManifest.maxHistory)
        // Those whose use ended longest ago, the first keys, are left out.
        #expect(card.manifest.record(for: initial.signingKeyID) == nil)
        #expect(card.manifest.record(for: initial.encryptionKeyID) == nil)
        #expect(throws: FormatError.self) { try card.signer(initial.signingKeyID, signedAt: t0, now: t0) }
        #expect(card.manifest.pastKeys.map(\.usableUntil).min() == t0 + 2 * day)
    }

    @Test func settingTheMailboxIsTheNextManifest() throws {
        let mailbox = try MailboxAddress("dir:/srv/gatehouse/mailboxes")
        let card = try store.setMailbox(mailbox, now: t0 + day)
        #expect(card.mailbox == "dir:/srv/gatehouse/mailboxes")
        #expect(card.manifest.version == 2)
        #expect(card.created == t0 + day)
        // Same keys, same expiry.
        #expect(card.manifest.keys == initial.manifest.keys && card.expires == initial.expires)
        let partners = try partnerStore("prison")
        try partners.add(initial, now: t0 + day)
        #expect(try partners.update(with: card, now: t0 + day).outcome == .updated)
        // Even with a clock that went back, the version and `created` never go back.
        let again = try store.setMailbox(nil, now: t0)
        #expect(again.manifest.version == 3 && again.created == t0 + day && again.mailbox == nil)
    }
}
