import GatehouseCrypto
import GatehouseFormat
import Testing

/// The key manifest's lines on the card (FORMAT.md §5, §5.1, §5.2): superseded and revoked keys,
/// root history, and every rule that spans lines. Bad cards are re-signed by their root
/// (``ManifestFixtures/signed(_:root:)``), so each is refused for the rule it breaks, not for its
/// signature.
@Suite("Key manifest on the identity card (FORMAT.md §5.1, §5.2)")
struct KeyManifestTests {
    typealias F = ManifestFixtures
    let card = try! ManifestFixtures.card()
    var fields: [String] { F.fields(of: card) }

    /// Parses `text`, returning the error (nil when it parsed).
    func failure(_ text: String) -> FormatError? {
        do { _ = try IdentityCard.parse(text); return nil } catch { return error }
    }

    /// The index of the first field line starting with `name: `.
    func index(_ name: String, in fields: [String]) -> Int { fields.firstIndex { $0.hasPrefix(name + ": ") }! }

    /// `fields` with the line at `from` moved to `to`.
    func moving(_ fields: [String], _ from: Int, to: Int) -> [String] {
        var moved = fields
        moved.insert(moved.remove(at: from), at: to)
        return moved
    }

    @Test func roundTripWithPastKeysAndRootHistory() throws {
        let parsed = try IdentityCard.parse(card.text)
        #expect(parsed == card)
        #expect(parsed.text == card.text)
        #expect(fields.map { String($0.prefix { $0 != ":" }) } == [
            "version", "org", "name", "root-key", "manifest", "created", "expires", "signing-key", "encryption-key",
            "superseded-key", "superseded-key", "revoked-key", "root-history", "root-history",
        ])
        #expect(fields[4] == "manifest: 3")
        #expect(fields[9] == "superseded-key: ed25519 \(KeyID(signing: F.signing(1)).hex) \(Base64.encode(F.signing(1).bytes)) 2026-08-17T09:30:00Z 2026-11-25T09:30:00Z 2026-12-25T09:30:00Z")
        #expect(fields[11] == "revoked-key: ed25519 \(KeyID(signing: F.signing(0)).hex) \(Base64.encode(F.signing(0).bytes)) 2026-05-09T09:30:00Z 2026-08-17T09:30:00Z compromised")
        #expect(parsed.manifest.version == 3)
        #expect(parsed.signingKey == F.signing(2) && parsed.encryptionKey == F.encryption(2))
        #expect(parsed.manifest.keys == F.keys)
        #expect(parsed.manifest.pastKeys.map(\.stateName) == ["superseded", "superseded", "revoked"])
        #expect(parsed.manifest.rootHistory.map(\.root) == [F.root(0).publicKey, F.root(1).publicKey])
        #expect(parsed.rootKey == F.root(2).publicKey)
        // Every signing key, current or not, and no encryption key.
        #expect(parsed.manifest.signingKeys == Dictionary(uniqueKeysWithValues: (0...2).map { (KeyID(signing: F.signing($0)), F.signing($0)) }))

        // With ssh-key and mailbox, which stand between the current keys and the past ones, and
        // a key revoked for the reason `superseded`.
        let keys = F.current + [ManifestKeyRecord(key: .encryption(F.encryption(0)), from: F.t0 - F.day,
                                                  state: .revoked(at: F.t0, reason: .superseded))]
        let full = try F.card(F.manifest(keys: keys), sshKey: F.signing(9), mailbox: "dir:/srv/gatehouse/mailboxes")
        #expect(try IdentityCard.parse(full.text) == full)
        #expect(F.fields(of: full).map { String($0.prefix { $0 != ":" }) }.suffix(6) == [
            "encryption-key", "ssh-key", "mailbox", "revoked-key", "root-history", "root-history",
        ])
        #expect(F.fields(of: full)[index("revoked-key", in: F.fields(of: full))].hasSuffix(" superseded"))
    }

    /// The re-signing helper signs exactly as a card is signed, so the refusals below are the
    /// rules' and not the signature's.
    @Test func reSignedFieldsAreTheSameCard() throws {
        #expect(F.signed(fields) == card.text)
        #expect(failure(F.signed(fields, root: 1))?.category == .authenticationFailed)
    }

    @Test func makeWritesTheOneKeyOrder() throws {
        let scrambled = [F.keys[4], F.keys[3], F.keys[1], F.keys[2], F.keys[0]]
        let made = try F.card(F.manifest(keys: scrambled))
        // Current signing, current encryption, then superseded and revoked keys in the order given.
        #expect(made.manifest.keys.map(\.id) == [F.keys[0], F.keys[1], F.keys[3], F.keys[2], F.keys[4]].map(\.id))
        #expect(try IdentityCard.parse(made.text) == made)
    }

    @Test func repeatedFieldsKeepTheFieldOrder() throws {
        let card = try F.card(sshKey: F.signing(9), mailbox: "dir:/srv/gatehouse/mailboxes")
        let fields = F.fields(of: card)
        #expect(try IdentityCard.parse(F.signed(fields)) == card)
        let (signing, encryption, mailbox) = (index("signing-key", in: fields), index("encryption-key", in: fields), index("mailbox", in: fields))
        let (superseded, revoked, history) = (index("superseded-key", in: fields), index("revoked-key", in: fields), index("root-history", in: fields))
        // Each edit, and the line and field the reader names: the first line that is not where it should be.
        let cases: [(String, [String], String)] = [
            ("revoked before superseded", moving(fields, revoked, to: superseded), "line \(superseded + 3): field 'superseded-key' is out of order"),
            ("history before revoked", moving(fields, history, to: revoked), "line \(revoked + 3): field 'revoked-key' is out of order"),
            ("superseded before the current keys", moving(fields, superseded, to: signing),
             "line \(signing + 2): field 'superseded-key' is out of order (expected 'signing-key')"),
            ("encryption before signing", moving(fields, encryption, to: signing),
             "line \(signing + 2): field 'encryption-key' is out of order (expected 'signing-key')"),
            ("superseded before mailbox", moving(fields, superseded, to: mailbox), "line \(mailbox + 3): field 'mailbox' is out of order"),
            ("superseded after the history", moving(fields, superseded + 1, to: fields.count - 1),
             "line \(fields.count + 1): field 'superseded-key' is out of order (expected 'signature')"),
            ("history split by a key", moving(fields, revoked, to: history), "line \(history + 2): field 'revoked-key' is out of order"),
        ]
        for (what, edited, expected) in cases {
            let error = failure(F.signed(edited))
            #expect(error?.category == .malformed, "\(what)")
            #expect(error?.detail.contains(expected) == true, "\(what): \(String(describing: error))")
        }
    }

    @Test func atMost64PastKeysAndRootEndorsements() throws {
        func past(_ count: Int, _ state: ManifestKeyRecord.State) -> [ManifestKeyRecord] {
            (0..<count).map { ManifestKeyRecord(key: .signing(CardFixtures.signingKey("manifest-past-\($0)").publicKey), from: F.t0 - F.day, state: state) }
        }
        let superseded = ManifestKeyRecord.State.superseded(at: F.t0, until: F.t0 + F.day)
        let revoked = ManifestKeyRecord.State.revoked(at: F.t0, reason: .compromised)
        for (name, state) in [("superseded-key", superseded), ("revoked-key", revoked)] {
            // 64 lines of one kind are the most a card carries.
            let full = try F.card(F.manifest(keys: F.current + past(64, state), history: []))
            #expect(try IdentityCard.parse(full.text) == full, "\(name)")
            // A 65th is refused at its line, even when signed.
            var fields = F.fields(of: full)
            let extra = ManifestKeyRecord(key: .signing(CardFixtures.signingKey("manifest-past-64").publicKey), from: F.t0 - F.day, state: state)
            let last = fields.lastIndex { $0.hasPrefix(name + ": ") }!
            fields.insert(state == superseded ? F.line(name, extra.key, from: extra.from, F.time(F.t0), F.time(F.t0 + F.day))
                                              : F.line(name, extra.key, from: extra.from, F.time(F.t0), "compromised"), at: last + 1)
            let error = failure(F.signed(fields))
            #expect(error?.category == .malformed)
            #expect(error?.detail.contains("line \(last + 3): more than 64 '\(name)' lines") == true, "\(String(describing: error))")
        }
        // Superseded and revoked lines together: at most 64, though each kind is within its count.
        let mixed = F.manifest(keys: F.current + past(64, superseded) + [ManifestKeyRecord(key: .signing(F.signing(0)), from: F.t0 - F.day, state: revoked)], history: [])
        #expect(throws: FormatError.self) { try F.card(mixed) }
        var fields = F.fields(of: try F.card(F.manifest(keys: F.current + past(64, superseded), history: [])))
        fields.append(F.line("revoked-key", .signing(F.signing(0)), from: F.t0 - F.day, F.time(F.t0), "compromised"))
        let error = failure(F.signed(fields))
        #expect(error?.category == .malformed)
        #expect(error?.detail.contains("line 6: more than 64 past keys") == true, "\(String(describing: error))")

        // Root history: 64 endorsements are the most; a 65th line is refused.
        let long = try F.card(F.manifest(history: F.history(to: 64)), root: 64)
        #expect(try IdentityCard.parse(long.text) == long)
        var longer = F.fields(of: long).filter { !$0.hasPrefix("root-history: ") }
        longer[index("root-key", in: longer)] = "root-key: ed25519 \(Base64.encode(F.root(65).publicKey.bytes))"
        longer += F.history(to: 65).map { F.line($0) }
        let tooLong = failure(F.signed(longer, root: 65))
        #expect(tooLong?.category == .malformed)
        #expect(tooLong?.detail.contains("line \(longer.count + 1): more than 64 'root-history' lines") == true, "\(String(describing: tooLong))")
    }

    @Test func aKeyIDAppearsOnce() throws {
        let superseded = index("superseded-key", in: fields), revoked = index("revoked-key", in: fields)
        var currentAgain = fields
        currentAgain.insert(F.line("superseded-key", .signing(F.signing(2)), from: F.t0 - F.day, F.time(F.t0 - F.day), F.time(F.t0)), at: superseded)
        var twice = fields
        twice.insert(fields[superseded], at: superseded + 1)
        var supersededAndRevoked = fields
        supersededAndRevoked.insert(F.line("revoked-key", .signing(F.signing(1)), from: F.t0 - F.day, F.time(F.t0), "compromised"), at: revoked)
        for edited in [currentAgain, twice, supersededAndRevoked] {
            let error = failure(F.signed(edited))
            #expect(error?.category == .malformed)
            #expect(error?.detail.contains("line 6: key \(KeyID(signing: edited == currentAgain ? F.signing(2) : F.signing(1)).hex) is named twice") == true,
                    "\(String(describing: error))")
        }
        let duplicate = F.keys + [ManifestKeyRecord(key: .signing(F.signing(1)), from: F.t0 - F.day, state: .revoked(at: F.t0, reason: .compromised))]
        #expect(throws: FormatError.self) { try F.card(F.manifest(keys: duplicate)) }
    }

    @Test(arguments: ["lost", "Compromised", "compromised,", "superseded-key", "revoked"])
    func revocationReasonIsOneOfTwoWords(reason: String) {
        var edited = fields
        let revoked = index("revoked-key", in: fields)
        edited[revoked] = fields[revoked].replacing(" compromised", with: " " + reason)
        let error = failure(F.signed(edited))
        #expect(error?.category == .malformed)
        #expect(error?.detail.contains("line \(revoked + 2): revoked-key: reason '\(reason)' is not one of compromised, superseded") == true,
                "\(String(describing: error))")
    }

    @Test func timesMustBeInOrder() throws {
        let (t0, day) = (F.t0, F.day)
        let s1 = ManifestKey.signing(F.signing(1)), s0 = ManifestKey.signing(F.signing(0))
        let superseded = index("superseded-key", in: fields), revoked = index("revoked-key", in: fields)
        let signing = index("signing-key", in: fields), expires = index("expires", in: fields)
        // (line index, bad line, its message) and the same instants in order, which are accepted.
        let cases: [(Int, String, String, String)] = [
            (superseded, F.line("superseded-key", s1, from: t0, F.time(t0 - 1), F.time(t0 + day)),
             F.line("superseded-key", s1, from: t0, F.time(t0), F.time(t0 + day)), "superseded key \(s1.id): its times must be in order"),
            (superseded, F.line("superseded-key", s1, from: t0 - day, F.time(t0), F.time(t0 - 1)),
             F.line("superseded-key", s1, from: t0 - day, F.time(t0), F.time(t0)), "superseded key \(s1.id): its times must be in order"),
            (revoked, F.line("revoked-key", s0, from: t0, F.time(t0 - 1), "compromised"),
             F.line("revoked-key", s0, from: t0, F.time(t0), "compromised"), "revoked key \(s0.id): revoked before it was valid"),
            (signing, F.line("signing-key", .signing(F.signing(2)), from: t0, F.time(t0 - 1)),
             F.line("signing-key", .signing(F.signing(2)), from: t0, F.time(t0)), "key \(KeyID(signing: F.signing(2))): valid until before valid from"),
            (expires, "expires: \(F.time(t0 - 1))", "expires: \(F.time(t0))", "expires: the manifest expires before it was made"),
        ]
        for (index, bad, good, message) in cases {
            var edited = fields
            edited[index] = bad
            let error = failure(F.signed(edited))
            #expect(error?.category == .malformed, "\(bad)")
            #expect(error?.detail.contains("line 6: \(message)") == true, "\(bad): \(String(describing: error))")
            edited[index] = good
            #expect(failure(F.signed(edited)) == nil, "\(good)")
        }
        // `make` holds the same rules.
        let backwards = [F.keys[0], F.keys[1],
                         ManifestKeyRecord(key: s1, from: t0, state: .superseded(at: t0 - 1, until: t0 + day))]
        #expect(throws: FormatError.self) { try F.card(F.manifest(keys: backwards)) }
        #expect(throws: FormatError.self) {
            try F.card(KeyManifest(version: 3, created: t0, expires: t0 - 1, keys: F.keys, rootHistory: F.history(to: 2)))
        }
    }

    @Test func rootHistoryMustVerify() throws {
        let history = F.history(to: 2)
        let first = index("root-history", in: fields)
        let otherOrg = try ODSCode("A81002")
        // Each: the history lines written in place of the good ones.
        let cases: [(String, [RootEndorsement])] = [
            ("reversed", history.reversed()),
            ("a link missing: root 0 endorses root 1, not the card's root", [history[0]]),
            ("endorsed for another organisation", [RootEndorsement.endorse(org: otherOrg, next: F.root(1).publicKey, with: F.root(0)), history[1]]),
            ("signed by another key", [RootEndorsement(root: F.root(0).publicKey,
                                                       signature: RootEndorsement.endorse(org: F.org, next: F.root(1).publicKey, with: F.root(7)).signature),
                                       history[1]]),
            ("one bit changed", [RootEndorsement(root: history[0].root, signature: [history[0].signature[0] ^ 1] + history[0].signature.dropFirst()),
                                 history[1]]),
            ("root 0 endorses the card's root directly but the chain lists root 1", [RootEndorsement.endorse(org: F.org, next: F.root(2).publicKey, with: F.root(0)), history[1]]),
        ]
        for (what, lines) in cases {
            let edited = Array(fields[..<first]) + lines.map { F.line($0) }
            let error = failure(F.signed(edited))
            #expect(error?.category == .authenticationFailed, "\(what)")
            #expect(error?.detail.contains("line 6: root-history: entry") == true, "\(what): \(String(describing: error))")
            #expect(throws: FormatError.self, "\(what)") { try F.card(F.manifest(history: lines)) }
        }
        // A shorter chain that still ends at the card's root is valid.
        #expect(failure(F.signed(Array(fields[..<first]) + [F.line(history[1])])) == nil)
        // A root may appear once, the card's root included.
        let again = Array(fields[..<first]) + (history + [RootEndorsement.endorse(org: F.org, next: F.root(2).publicKey, with: F.root(2))]).map { F.line($0) }
        let error = failure(F.signed(again))
        #expect(error?.category == .malformed)
        #expect(error?.detail.contains("line 6: root-history: a root appears twice") == true, "\(String(describing: error))")
    }

    @Test func nothingButTheEndLineFollowsTheSignature() {
        let lines = CardFixtures.lines(of: card)
        let after = lines.count - 1  // before the END line
        let cases: [(String, String)] = [
            ("comment: hello", "line \(after + 1): expected '\(IdentityCard.endLine)' after 'signature'"),
            (fields[index("superseded-key", in: fields)], "line \(after + 1): field 'superseded-key' is out of order"),
            (fields[index("revoked-key", in: fields)], "line \(after + 1): field 'revoked-key' is out of order"),
            (fields[index("root-history", in: fields)], "line \(after + 1): field 'root-history' is out of order"),
            (lines[after - 1], "line \(after + 1): field 'signature' appears twice"),
        ]
        for (extra, expected) in cases {
            var edited = lines
            edited.insert(extra, at: after)
            let error = failure(CardFixtures.text(edited))
            #expect(error?.category == .malformed, "\(extra)")
            #expect(error?.detail.contains(expected) == true, "\(extra): \(String(describing: error))")
        }
    }
}
