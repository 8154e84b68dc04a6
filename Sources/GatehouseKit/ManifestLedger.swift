import Foundation
import GatehouseCrypto
public import GatehouseFormat

/// What this organisation's key manifests did at one partner (FORMAT.md §5.3): each version sent,
/// and the highest version the partner's gateway confirmed with a signed receipt.
///
/// A manifest counts as delivered only when confirmed: until then the daemon sends it again
/// (a relay insider or a lost file must not be able to keep a revocation from a partner
/// unnoticed), and `keys status`, `doctor` and `/healthz` warn when a revocation stays
/// unconfirmed longer than `[keys] revocation_confirm_within`.
public struct ManifestDelivery: Codable, Sendable, Equatable {
    /// One version sent to the partner.
    public struct Sent: Codable, Sendable, Equatable {
        /// The manifest version.
        public var version: UInt64
        /// The id its receipt names: ``ManifestLedger/deliveryID(of:)`` of the exact bytes sent.
        public var id: String
        /// SHA-256 of the exact bytes sent.
        public var sha256: String
        /// When it was first and last put in the partner's mailbox (ms since the epoch).
        public var firstSentAt: Int64
        public var lastSentAt: Int64
        /// The key ids this version revokes.
        public var revoked: [String]

        /// A version sent.
        public init(version: UInt64, id: String, sha256: String, firstSentAt: Int64, lastSentAt: Int64, revoked: [String]) {
            self.version = version
            self.id = id
            self.sha256 = sha256
            self.firstSentAt = firstSentAt
            self.lastSentAt = lastSentAt
            self.revoked = revoked
        }

        enum CodingKeys: String, CodingKey {
            case version, id, sha256, firstSentAt = "first_sent_at", lastSentAt = "last_sent_at", revoked
        }
    }

    /// Versions sent, oldest first (the last ``ManifestLedger/historyLimit`` of them).
    public var sent: [Sent] = []
    /// The highest version the partner confirmed, and when.
    public var confirmed: UInt64?
    public var confirmedAt: Int64?
    /// The key ids revoked by the confirmed version.
    public var confirmedRevoked: [String] = []
    /// The partner's latest refusal of a manifest, in words.
    public var lastRefusal: String?

    enum CodingKeys: String, CodingKey {
        case sent, confirmed, confirmedAt = "confirmed_at", confirmedRevoked = "confirmed_revoked", lastRefusal = "last_refusal"
    }

    /// An empty record: nothing sent.
    public init() {}

    /// The entry for the version whose receipt names `id`.
    public func entry(id: String) -> Sent? { sent.last { $0.id == id } }

    /// True when the partner confirmed `version` or a later one.
    public func hasConfirmed(_ version: UInt64) -> Bool { (confirmed ?? 0) >= version }

    /// Revocations in `own`'s current manifest that the partner has not confirmed, with the time
    /// the first manifest carrying one of them was sent (nil when nothing is pending).
    public func pendingRevocations(of own: IdentityCard) -> (keys: [String], since: Int64?)? {
        let revoked = ManifestLedger.revokedKeys(of: own)
        let pending = revoked.filter { !confirmedRevoked.contains($0) }
        guard !pending.isEmpty, !hasConfirmed(own.manifest.version) else { return nil }
        let since = sent.filter { !Set($0.revoked).isDisjoint(with: pending) }.map(\.firstSentAt).min()
        return (pending, since)
    }
}

/// The per-partner ``ManifestDelivery`` records of a home: `spool/manifests/<ODS>.json`.
public struct ManifestLedger: Sendable {
    /// The folder.
    public let folder: String
    /// Sent versions remembered per partner (older receipts are for versions long superseded).
    public static let historyLimit = 8

    /// The ledger of `home`.
    public init(home: GatehouseHome) { folder = home.path + "/spool/manifests" }

    /// The id a receipt for the manifest bytes `bytes` names: the first 16 bytes of their SHA-256
    /// (FORMAT.md §5.3). A bundle id is random, so the two cannot be confused in practice, and the
    /// receipt's digest field pins the exact bytes anyway.
    public static func deliveryID(of bytes: [UInt8]) -> BundleID {
        // A 16-byte prefix of a 32-byte digest is always a valid bundle id.
        try! BundleID(bytes: Array(SHA256Hasher.hash(bytes).bytes.prefix(BundleID.length)))
    }

    /// The ids (hex) of the keys `card`'s manifest revokes.
    public static func revokedKeys(of card: IdentityCard) -> [String] {
        card.manifest.keys.filter { if case .revoked = $0.state { true } else { false } }.map(\.id.hex)
    }

    /// The organisations a record is kept for (those the own manifest was ever sent to).
    public func partners() -> [ODSCode] {
        (FileOperations.listFolder(folder) ?? []).filter { $0.hasByteSuffix(".json") }.compactMap {
            try? ODSCode(String($0.utf8.dropLast(5))!)
        }.sorted { $0.value < $1.value }
    }

    /// The record for `partner`; an empty one when none is kept, or when it cannot be read (the
    /// manifest is then simply sent again, which is always safe).
    public func delivery(to partner: ODSCode) -> ManifestDelivery {
        let path = "\(folder)/\(partner.value).json"
        guard let bytes = try? FileOperations.read(at: path, limit: 64 * 1024),
              let record = try? JSONDecoder().decode(ManifestDelivery.self, from: Data(bytes)) else { return ManifestDelivery() }
        return record
    }

    /// Stores `record` for `partner` (atomically and durably).
    public func save(_ record: ManifestDelivery, for partner: ODSCode) throws(KitError) {
        var trimmed = record
        trimmed.sent = Array(record.sent.suffix(Self.historyLimit))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes: [UInt8]
        do { bytes = Array(try encoder.encode(trimmed)) } catch {
            throw .invalidInput("the manifest delivery record of \(partner) could not be encoded: \(error)")
        }
        try FileOperations.makeDirectory(folder, mode: 0o700)
        try FileOperations.replaceAtomically(at: "\(folder)/\(partner.value).json", contents: bytes, mode: 0o600)
    }
}
