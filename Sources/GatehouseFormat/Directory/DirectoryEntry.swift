public import GatehouseCrypto

/// One entry of the directory log (DIRECTORY.md §6): the admission of an organisation (its ODS
/// code bound to its name, root key, SSH key, mailbox and card, for a validity window) or the
/// revocation of one admitted root key. Entries are text, `field: value` lines ending in LF, in a
/// fixed order, with one canonical spelling; the log hashes their exact bytes.
public struct DirectoryEntry: Hashable, Sendable {
    /// The first line of every entry of this version.
    public static let versionLine = "gatehouse-directory-entry: 1"
    /// Longest entry (an entry bundle prefixes each entry with a uint16 length).
    public static let maxLength = TileData.maxEntryLength
    /// Longest revocation reason, in bytes.
    public static let maxReasonLength = 200

    /// An organisation admitted to the network.
    public struct Admission: Hashable, Sendable {
        /// The organisation's card as the authority checked it; it carries the other fields.
        public let card: IdentityCard
        /// From when the admission holds, seconds since 1970 (UTC).
        public let validFrom: UInt64
        /// Until when the admission holds.
        public let validUntil: UInt64
        /// The ODS code.
        public var org: ODSCode { card.org }
        /// The admitted root key.
        public var rootKey: SigningPublicKey { card.rootKey }
    }

    /// An admitted root key withdrawn.
    public struct Revocation: Hashable, Sendable {
        /// The ODS code.
        public let org: ODSCode
        /// The root key no longer admitted.
        public let rootKey: SigningPublicKey
        /// From when it is withdrawn.
        public let at: UInt64
        /// Why, for people to read: 1 to 200 bytes of readable text.
        public let reason: String
    }

    /// What the entry records.
    public enum Kind: Hashable, Sendable {
        /// An admission.
        case admit(Admission)
        /// A revocation.
        case revoke(Revocation)
    }

    /// What the entry records.
    public let kind: Kind

    /// The organisation the entry is about.
    public var org: ODSCode {
        switch kind {
        case .admit(let admission): admission.org
        case .revoke(let revocation): revocation.org
        }
    }

    /// An admission entry; throws `invalidInput` when the window is empty or the entry too long.
    public static func admit(
        _ card: IdentityCard, validFrom: UInt64, validUntil: UInt64
    ) throws(FormatError) -> DirectoryEntry {
        guard validFrom <= validUntil, validUntil <= RFC3339.maxSeconds else {
            throw .invalidInput("admission of \(card.org): the validity window ends before it starts")
        }
        let entry = DirectoryEntry(kind: .admit(Admission(card: card, validFrom: validFrom, validUntil: validUntil)))
        guard entry.bytes.count <= maxLength else {
            throw .invalidInput("admission of \(card.org): the card is too large for an entry")
        }
        return entry
    }

    /// A revocation entry; throws `invalidInput` for a reason that is empty, too long or unreadable.
    public static func revoke(
        org: ODSCode, rootKey: SigningPublicKey, at: UInt64, reason: String
    ) throws(FormatError) -> DirectoryEntry {
        guard (1...maxReasonLength).contains(reason.utf8.count) else {
            throw .invalidInput("the revocation reason must be 1 to \(maxReasonLength) bytes")
        }
        try ReadableText.check(reason, "the revocation reason")
        guard at <= RFC3339.maxSeconds else { throw .invalidInput("the revocation time is after the year 9999") }
        return DirectoryEntry(kind: .revoke(Revocation(org: org, rootKey: rootKey, at: at, reason: reason)))
    }

    /// The entry's lines, in order.
    var lines: [String] {
        var lines = [Self.versionLine]
        switch kind {
        case .admit(let a):
            lines += [
                "kind: admit", "org: \(a.org.value)", "name: \(a.card.name)",
                "root-key: ed25519 \(Base64.encode(a.rootKey.bytes))",
            ]
            if let ssh = a.card.sshKey { lines.append("ssh-key: \(OpenSSHKey.publicLine(ssh))") }
            if let mailbox = a.card.mailbox { lines.append("mailbox: \(mailbox)") }
            lines += [
                "valid-from: \(IdentityCard.time(a.validFrom))", "valid-until: \(IdentityCard.time(a.validUntil))",
                "card: \(Base64.encode(Array(a.card.text.utf8)))",
            ]
        case .revoke(let r):
            lines += [
                "kind: revoke", "org: \(r.org.value)", "root-key: ed25519 \(Base64.encode(r.rootKey.bytes))",
                "revoked: \(IdentityCard.time(r.at))", "reason: \(r.reason)",
            ]
        }
        return lines
    }

    /// The exact bytes the log stores and hashes.
    public var bytes: [UInt8] { Array(lines.map { $0 + "\n" }.joined().utf8) }

    /// The RFC 9162 leaf hash of the entry.
    public var leafHash: SHA256Digest { MerkleHash.leaf(bytes) }
}
