import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import Testing

/// `KeyWarnings`: 30 and 7 days ahead, and once expired, for the own manifest and keys and for
/// partners' manifests.
@Suite("Key expiry warnings")
struct KeyWarningsTests {
    let t0 = KitFixtures.created
    let day = KitFixtures.day

    /// The practice's card: signing key until t0 + 200 days, encryption key until t0 + 365
    /// days, manifest until t0 + 300 days, so each warning has its own date.
    var own: IdentityCard {
        let signing = KitFixtures.signingKey("warnings-signing").publicKey
        let encryption = KitFixtures.agreementKey("warnings-encryption").publicKey
        let manifest = KeyManifest(version: 4, created: t0, expires: t0 + 300 * day, keys: [
            ManifestKeyRecord(key: .signing(signing), from: t0, state: .current(until: t0 + 200 * day)),
            ManifestKeyRecord(key: .encryption(encryption), from: t0, state: .current(until: t0 + 365 * day)),
        ])
        return try! IdentityCard.make(org: KitFixtures.practice, name: "Riverside Medical Practice",
                                      root: KitFixtures.signingKey("warnings-root"), manifest: manifest)
    }

    var signingKey: String { "own-key-\(own.signingKeyID.hex)" }
    var encryptionKey: String { "own-key-\(own.encryptionKeyID.hex)" }

    func warnings(at now: UInt64, partners: [IdentityCard] = []) -> [KeyWarnings.Warning] {
        KeyWarnings.warnings(own: own, partners: partners, now: now)
    }

    @Test func nothingWhileExpiryIsMoreThan30DaysAway() {
        #expect(warnings(at: t0).isEmpty)
        #expect(warnings(at: t0 + 170 * day - 1).isEmpty)
    }

    @Test func thirtyDaysAhead() throws {
        let found = warnings(at: t0 + 170 * day)
        #expect(found.map(\.key) == ["\(signingKey)-30"])
        let warning = try #require(found.first)
        #expect(warning.days == 30)
        #expect(warning.message.contains("within 30 days") && warning.message.contains("gatehouse keys rotate"), "\(warning.message)")
        #expect(warning.message.contains(own.signingKeyID.hex))
        // The manifest's own expiry is warned about separately.
        #expect(warnings(at: t0 + 280 * day).map(\.key) == ["own-manifest-30", "\(signingKey)-expired"])
    }

    @Test func sevenDaysAhead() throws {
        let found = warnings(at: t0 + 197 * day)
        #expect(found.map(\.key) == ["\(signingKey)-7"])
        #expect(found.first?.days == 3)
        #expect(found.first?.message.contains("within 7 days") == true)
        #expect(warnings(at: t0 + 193 * day).map(\.key) == ["\(signingKey)-7"])
        #expect(warnings(at: t0 + 193 * day - 1).map(\.key) == ["\(signingKey)-30"])
    }

    @Test func expired() throws {
        let found = warnings(at: t0 + 336 * day)
        #expect(found.map(\.key) == ["own-manifest-expired", "\(signingKey)-expired", "\(encryptionKey)-30"])
        let manifest = try #require(found.first)
        #expect(manifest.days == -36)
        #expect(manifest.message.contains("expired at") && manifest.message.contains("version 4"), "\(manifest.message)")
        // At the very second of expiry.
        #expect(warnings(at: t0 + 200 * day).map(\.key).contains("\(signingKey)-expired"))
    }

    @Test func stalePartners() throws {
        let partner = try KitFixtures.prisonCard(version: 2, lifetime: 100 * day)
        let expires = t0 + 100 * day
        #expect(!KeyWarnings.isStale(partner, now: expires - 30 * day - 1))
        #expect(warnings(at: expires - 30 * day - 1, partners: [partner]).isEmpty)
        #expect(KeyWarnings.isStale(partner, now: expires - 30 * day))
        let soon = warnings(at: expires - 10 * day, partners: [partner])
        #expect(soon.map(\.key) == ["partner-XHM01-2-30"])
        #expect(soon.first?.message.contains("no newer one has arrived") == true)
        #expect(soon.first?.message.contains("version 2") == true)
        #expect(warnings(at: expires - day, partners: [partner]).map(\.key) == ["partner-XHM01-2-7"])
        #expect(KeyWarnings.isStale(partner, now: expires + 1))
        #expect(warnings(at: expires + 1, partners: [partner]).map(\.key) == ["partner-XHM01-2-expired"])
        // A newer manifest from the partner ends the warning.
        let newer = try KitFixtures.prisonCard(version: 3, keys: "b", created: t0 + 90 * day)
        #expect(!KeyWarnings.isStale(newer, now: expires - day))
        #expect(warnings(at: expires - day, partners: [newer]).isEmpty)
    }
}
