import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// `KeyStore.revoke` (FORMAT.md §5.1), in the rotation suite (same fixtures).
extension KeyLifecycleTests {
    @Test func revokingTheCurrentSigningKeyReplacesItAtOnce() throws {
        let (now, compromisedAt) = (t0 + 10 * day, t0 + 5 * day)
        let change = try store.revoke(initial.signingKeyID, reason: .compromised, at: compromisedAt, now: now)
        let card = change.card
        #expect(try store.loadOwnCard() == card)
        #expect(card.manifest.version == 2)
        #expect(card.expires == initial.expires)
        #expect(card.manifest.record(for: initial.signingKeyID)?.state == .revoked(at: compromisedAt, reason: .compromised))
        // A replacement, current from now for as long as the old key would have been.
        #expect(card.signingKeyID != initial.signingKeyID)
        #expect(change.created == [card.signingKeyID])
        #expect(card.manifest.currentSigning.from == now)
        #expect(card.manifest.currentSigning.state == initial.manifest.currentSigning.state)
        #expect(try mode(store.signingKeyPath(id: card.signingKeyID)) == 0o600)
        #expect(try store.loadSigningKey().publicKey == card.signingKey)
        // The encryption key is not touched.
        #expect(card.manifest.currentEncryption == initial.manifest.currentEncryption)
        // The revoked secret is destroyed.
        #expect(change.destroyed == [initial.signingKeyID])
        #expect(!FileManager.default.fileExists(atPath: store.signingKeyPath(id: initial.signingKeyID)))
        // Partners accept what it signed before the compromise, with a note, and nothing after.
        #expect(try card.signer(initial.signingKeyID, signedAt: compromisedAt - 1, now: now).note != nil)
        #expect(throws: FormatError.self) { try card.signer(initial.signingKeyID, signedAt: compromisedAt, now: now) }
        try store.verifyKeys()
    }

    @Test func revokingTheCurrentEncryptionKeyReplacesItAtOnce() throws {
        let now = t0 + 10 * day
        let change = try store.revoke(initial.encryptionKeyID, reason: .compromised, now: now)
        let card = change.card
        #expect(card.manifest.record(for: initial.encryptionKeyID)?.state == .revoked(at: now, reason: .compromised))
        #expect(card.encryptionKeyID != initial.encryptionKeyID && change.created == [card.encryptionKeyID])
        #expect(card.signingKeyID == initial.signingKeyID)
        #expect(change.destroyed == [initial.encryptionKeyID])
        #expect(try store.loadEncryptionKey(id: initial.encryptionKeyID)?.publicKey == nil)
        #expect(try store.loadEncryptionKey(id: card.encryptionKeyID)?.publicKey == card.encryptionKey)
        #expect(try mode(store.encryptionKeyPath(id: card.encryptionKeyID)) == 0o600)
        try store.verifyKeys()
    }

    @Test func aReplacementLivesAtLeastADay() throws {
        // The old key had two hours left: its replacement gets a day.
        let now = initial.manifest.currentSigning.usableUntil - 7_200
        let card = try store.revoke(initial.signingKeyID, reason: .superseded, now: now).card
        #expect(card.manifest.currentSigning.state == .current(until: now + day))
    }

    @Test func revokingASupersededKey() throws {
        let (rotatedAt, grace) = (t0 + 10 * day, 14 * day)
        let rotated = try store.rotate(grace: grace, now: rotatedAt).card
        let now = rotatedAt + day
        // The old encryption key: its secret goes now, though its grace window is still open.
        let encryption = try store.revoke(initial.encryptionKeyID, reason: .compromised, now: now)
        #expect(encryption.created.isEmpty)
        #expect(encryption.destroyed == [initial.encryptionKeyID])
        #expect(try store.loadEncryptionKey(id: initial.encryptionKeyID)?.publicKey == nil)
        #expect(encryption.card.encryptionKeyID == rotated.encryptionKeyID && encryption.card.signingKeyID == rotated.signingKeyID)

        // The old signing key, whose secret went at the rotation. It signed nothing valid after
        // it was replaced; revoking it later must not make such signatures acceptable.
        let signing = try store.revoke(initial.signingKeyID, reason: .compromised, now: now + 1)
        #expect(signing.created.isEmpty && signing.destroyed.isEmpty)
        #expect(signing.card.manifest.version == 4)
        #expect(signing.card.manifest.record(for: initial.signingKeyID)?.state == .revoked(at: rotatedAt, reason: .compromised))
        let between = rotatedAt + day / 2
        #expect(throws: FormatError.self) { try rotated.signer(initial.signingKeyID, signedAt: between, now: between) }
        let error = try #require(throws: FormatError.self) { try signing.card.signer(initial.signingKeyID, signedAt: between, now: now + 1) }
        #expect(error.category == .revokedKey)
        #expect(try signing.card.signer(initial.signingKeyID, signedAt: rotatedAt - 1, now: now + 1).note != nil)
    }

    @Test func anEarlierRevocationTimeIsKeptForASupersededKey() throws {
        let rotatedAt = t0 + 10 * day
        _ = try store.rotate(grace: 14 * day, now: rotatedAt)
        let card = try store.revoke(initial.signingKeyID, reason: .compromised, at: t0 + day, now: rotatedAt + day).card
        #expect(card.manifest.record(for: initial.signingKeyID)?.state == .revoked(at: t0 + day, reason: .compromised))
    }

    @Test func refusalsChangeNothing() throws {
        let now = t0 + 10 * day
        let files = try keyFiles()
        let cases: [(String, () throws(KitError) -> Void, String)] = [
            ("unknown key", { () throws(KitError) in _ = try store.revoke(KitFixtures.unknownKeyID, reason: .compromised, now: now) }, "has no key"),
            ("in the future", { () throws(KitError) in _ = try store.revoke(initial.signingKeyID, reason: .compromised, at: now + 1, now: now) }, "future"),
            ("before the key was valid", { () throws(KitError) in
                _ = try store.revoke(initial.signingKeyID, reason: .compromised, at: t0 - 1, now: now)
            }, "became valid"),
        ]
        for (what, body, message) in cases {
            let error = KitFixtures.kitError(body)
            #expect(error?.category == .invalidInput, "\(what)")
            #expect(error?.message.contains(message) == true, "\(what): \(String(describing: error))")
            #expect(try store.loadOwnCard() == initial, "\(what)")
            #expect(try keyFiles() == files, "\(what)")
        }
        // A key is revoked once.
        let revoked = try store.revoke(initial.encryptionKeyID, reason: .compromised, now: now).card
        let filesAfter = try keyFiles()
        let again = KitFixtures.kitError { () throws(KitError) in _ = try store.revoke(initial.encryptionKeyID, reason: .superseded, now: now + 1) }
        #expect(again?.category == .invalidInput)
        #expect(again?.message.contains("already revoked") == true)
        #expect(try store.loadOwnCard() == revoked)
        #expect(try keyFiles() == filesAfter)
    }
}
