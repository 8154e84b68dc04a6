import GatehouseCrypto
import GatehouseFormat
import Testing

/// `IdentityCard.signer`: which key may have signed, and when (FORMAT.md §5.1, "Accepting a
/// signature"). The fixture card's signing key 2 is current until t0 + 365 days, key 1 was
/// superseded at t0 with grace until t0 + 30 days, key 0 was revoked at t0 − 100 days.
@Suite("Accepting a signature by a manifest's key (FORMAT.md §5.1)")
struct SignerRulesTests {
    typealias F = ManifestFixtures
    let card = try! ManifestFixtures.card()
    let t0 = ManifestFixtures.t0
    let day = ManifestFixtures.day
    let skew = KeyManifest.clockSkew

    func id(_ number: Int) -> KeyID { KeyID(signing: F.signing(number)) }

    enum Outcome: Equatable {
        case success(SigningPublicKey)
        case failure(FormatError.Category)
    }

    /// The key `signer` returns, or the category of its error.
    func outcome(_ id: KeyID, signedAt: UInt64, now: UInt64) -> Outcome {
        do { return .success(try card.signer(id, signedAt: signedAt, now: now).key) } catch { return .failure(error.category) }
    }

    @Test func currentKeyUntilItsExpiry() throws {
        let until = t0 + 365 * day
        let signer = try card.signer(id(2), signedAt: t0 + day, now: t0 + day)
        #expect(signer.key == F.signing(2))
        #expect(signer.note == nil)
        // Clocks differ: up to the skew past the expiry is still the key's time.
        #expect(outcome(id(2), signedAt: until + skew, now: until + skew) == .success(F.signing(2)))
        #expect(outcome(id(2), signedAt: until + skew + 1, now: until + skew + 1) == .failure(.expired))
        // The reader's clock plays no part for the current key: a signature dated in time stays good.
        #expect(outcome(id(2), signedAt: until, now: until + 3 * 365 * day) == .success(F.signing(2)))
    }

    @Test func supersededKeyForWhatItSignedBeforeDuringTheGraceWindow() throws {
        let (replaced, graceEnds) = (t0, t0 + 30 * day)
        let signer = try card.signer(id(1), signedAt: replaced - day, now: replaced + 10 * day)
        #expect(signer.key == F.signing(1))
        #expect(signer.note == nil)
        #expect(outcome(id(1), signedAt: replaced + skew, now: replaced + day) == .success(F.signing(1)))
        #expect(outcome(id(1), signedAt: replaced - day, now: graceEnds) == .success(F.signing(1)))
        // After the grace window: expired, however early the signature.
        #expect(outcome(id(1), signedAt: replaced - day, now: graceEnds + 1) == .failure(.expired))
        // Signed after it was replaced (beyond the skew): revoked-key, even within the window.
        let late = try #require(throws: FormatError.self) { try card.signer(id(1), signedAt: replaced + skew + 1, now: replaced + day) }
        #expect(late.category == .revokedKey)
        #expect(late.detail.contains(id(1).hex))
    }

    @Test func revokedKeyOnlyForWhatItSignedBefore() throws {
        let revoked = t0 - 100 * day
        let signer = try card.signer(id(0), signedAt: revoked - 1, now: t0)
        #expect(signer.key == F.signing(0))
        // Accepted, and said so for the record.
        let note = try #require(signer.note)
        #expect(note.contains(id(0).hex) && note.contains("before its revocation") && note.contains("compromised"), "\(note)")
        // No grace window ends: the question is only when it signed.
        #expect(outcome(id(0), signedAt: revoked - day, now: t0 + 10 * 365 * day) == .success(F.signing(0)))
        // At or after the revocation, with no skew.
        #expect(outcome(id(0), signedAt: revoked, now: t0) == .failure(.revokedKey))
        #expect(outcome(id(0), signedAt: revoked + 1, now: t0) == .failure(.revokedKey))
        #expect(outcome(id(0), signedAt: t0, now: t0) == .failure(.revokedKey))
    }

    @Test func keysTheManifestDoesNotNameAsSigningKeys() throws {
        let others = [
            KeyID(signing: F.signing(3)),  // a newer key, perhaps
            KeyID(agreement: F.encryption(2)), KeyID(agreement: F.encryption(1)),  // named, but not signing keys
            KeyID(signing: F.root(2).publicKey),  // the root signs cards only
        ]
        for other in others {
            #expect(outcome(other, signedAt: t0, now: t0) == .failure(.unknownKey), "\(other)")
        }
        let error = try #require(throws: FormatError.self) { try card.signer(KeyID(signing: F.signing(3)), signedAt: t0, now: t0) }
        #expect(error.detail.contains("version 3"), "\(error.detail)")
    }

    /// Evidence kept from earlier is judged with `now: signedAt`: was the key good when it signed?
    @Test func evidenceModeJudgesTheTimeOfSigning() throws {
        let signedAt = t0 - 10 * day
        // Checked today, long after the grace window, the old signature no longer counts…
        #expect(outcome(id(1), signedAt: signedAt, now: t0 + 60 * day) == .failure(.expired))
        // …as evidence it does.
        #expect(outcome(id(1), signedAt: signedAt, now: signedAt) == .success(F.signing(1)))
        #expect(try card.signer(id(0), signedAt: t0 - 101 * day, now: t0 - 101 * day).note != nil)
        // Evidence mode does not rescue what was wrong when it was signed.
        #expect(outcome(id(1), signedAt: t0 + day, now: t0 + day) == .failure(.revokedKey))
        #expect(outcome(id(0), signedAt: t0 - 100 * day, now: t0 - 100 * day) == .failure(.revokedKey))
        let late = t0 + 365 * day + skew + 1
        #expect(outcome(id(2), signedAt: late, now: late) == .failure(.expired))
    }
}
