import GatehouseCrypto
import GatehouseFormat
import Testing

/// Directory entries (DIRECTORY.md §6).
@Suite("Directory: entries")
struct DirectoryEntryTests {
    @Test func anAdmissionRoundTripsAndCarriesTheCard() throws {
        let entry = DirectoryFixtures.admit("A81001", name: "Riverside Medical Practice")
        let text = String(decoding: entry.bytes, as: UTF8.self)
        #expect(
            text.hasPrefix(
                "gatehouse-directory-entry: 1\nkind: admit\norg: A81001\nname: Riverside Medical Practice\nroot-key: ed25519 "
            ))
        #expect(
            text.contains(
                "\nmailbox: sftp://gatehouse@relay.nhs.example:2222/A81001\nvalid-from: 2026-12-01T00:00:00Z\n"))
        let parsed = try DirectoryEntry.parse(entry.bytes)
        #expect(parsed == entry)
        guard case .admit(let admission) = parsed.kind else {
            Issue.record("not an admission")
            return
        }
        #expect(
            admission.card.org.value == "A81001"
                && admission.validUntil == DirectoryFixtures.t0 + DirectoryFixtures.year)
    }

    @Test func aRevocationRoundTrips() throws {
        let card = DirectoryFixtures.card("YOI123", name: "HMP Test")
        let entry = try DirectoryEntry.revoke(
            org: card.org, rootKey: card.rootKey, at: DirectoryFixtures.t0 + 10, reason: "closed")
        #expect(try DirectoryEntry.parse(entry.bytes) == entry)
        #expect(throws: FormatError.self) {
            try DirectoryEntry.revoke(org: card.org, rootKey: card.rootKey, at: 0, reason: "")
        }
        #expect(throws: FormatError.self) {
            try DirectoryEntry.revoke(org: card.org, rootKey: card.rootKey, at: 0, reason: "a\u{202E}b")
        }
    }

    static func mangle(_ entry: DirectoryEntry, _ change: (inout [String]) -> Void) -> [UInt8] {
        var lines = String(decoding: entry.bytes, as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map(String.init)
        lines.removeLast()
        change(&lines)
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    @Test func anEntryThatDisagreesWithItsCardIsRefused() {
        let entry = DirectoryFixtures.admit("A81001", name: "Riverside Medical Practice")
        let other = DirectoryFixtures.card("A81002", name: "Another Practice", label: "other")
        let changes: [(String, (inout [String]) -> Void)] = [
            ("org", { $0[2] = "org: A81002" }),
            ("name", { $0[3] = "name: Riverside Medical Practise" }),
            ("root", { $0[4] = "root-key: ed25519 \(Base64.encode(other.rootKey.bytes))" }),
            ("ssh key", { $0[5] = "ssh-key: \(OpenSSHKey.publicLine(other.sshKey!))" }),
            ("mailbox", { $0[6] = "mailbox: sftp://gatehouse@evil.example:22/A81001" }),
            ("no mailbox", { $0.remove(at: 6) }),
            ("card of another", { $0[9] = "card: \(Base64.encode(Array(other.text.utf8)))" }),
            ("window reversed", { $0[7] = "valid-from: 2027-12-02T00:00:00Z" }),
            ("extra line", { $0.append("note: hello") }),
            ("version", { $0[0] = "gatehouse-directory-entry: 2" }),
            ("kind", { $0[1] = "kind: admitted" }),
            ("lower-case org", { $0[2] = "org: a81001" }),
            ("double space", { $0[3] = "name:  Riverside Medical Practice" }),
            ("time form", { $0[8] = "valid-until: 2027-12-01T00:00:00+00:00" }),
            ("CRLF", { $0[3] += "\r" }),
        ]
        for (what, change) in changes {
            #expect(throws: FormatError.self, "\(what)") { try DirectoryEntry.parse(Self.mangle(entry, change)) }
        }
        #expect(throws: FormatError.self) { try DirectoryEntry.parse(entry.bytes + [0x0A]) }
        #expect(throws: FormatError.self) { try DirectoryEntry.parse(Array(entry.bytes.dropLast())) }
        #expect(throws: FormatError.self) { try DirectoryEntry.parse([0xFF, 0x0A]) }
    }

    @Test func anEntryByteChangedAnywhereIsRefusedOrChangesItsHash() {
        let entry = DirectoryFixtures.admit("A81001")
        let bytes = entry.bytes
        for i in stride(from: 0, to: bytes.count, by: 7) {
            var changed = bytes
            changed[i] ^= 0x01
            if let parsed = try? DirectoryEntry.parse(changed) {
                #expect(parsed.leafHash != entry.leafHash)
            }
        }
    }

    @Test func theStateFollowsAdmissionsAndRevocations() throws {
        let a = DirectoryFixtures.admit("A81001")
        let b = DirectoryFixtures.admit("YOI123")
        let rotated = DirectoryFixtures.admit("A81001", label: "A81001-2027")
        let oldRoot = DirectoryFixtures.card("A81001", name: "Test Organisation").rootKey
        let revokeOld = try DirectoryEntry.revoke(
            org: a.org, rootKey: oldRoot, at: DirectoryFixtures.t0 + 5, reason: "rotated")
        let revokeB = try DirectoryEntry.revoke(
            org: b.org, rootKey: DirectoryFixtures.card("YOI123", name: "x").rootKey,
            at: DirectoryFixtures.t0 + 5, reason: "closed")
        let state = try DirectoryState(entries: [a, b, rotated, revokeOld, revokeB].map(\.bytes))
        let practice = try #require(state.listings[a.org])
        // The later admission replaced the earlier; revoking the old root does not touch it.
        #expect(practice.index == 2 && practice.revocation == nil && practice.isValid(at: DirectoryFixtures.t0 + 10))
        let prison = try #require(state.listings[b.org])
        #expect(prison.revocation?.index == 4)
        #expect(prison.isValid(at: DirectoryFixtures.t0 + 4) && !prison.isValid(at: DirectoryFixtures.t0 + 5))
        #expect(!practice.isValid(at: DirectoryFixtures.t0 + DirectoryFixtures.year + 1))
    }
}
