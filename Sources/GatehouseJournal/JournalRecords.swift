import Foundation
public import GatehouseFormat

/// Where an outgoing bundle is in its journey. Stored as text in the journal.
public enum OutgoingState: String, Sendable, Codable, CaseIterable {
    /// Claimed from the outbox, id assigned, not yet sealed.
    case queued
    /// Sealed into a bundle in the work folder.
    case sealed
    /// Written into the partner's mailbox.
    case delivered
    /// The partner's signed receipt says it holds the bundle unopened (it has not added this
    /// organisation's card): not final, a `processed` or `failed` receipt still ends it, and it
    /// still expires.
    case held
    /// A receipt whose signature and bundle digest verify says `processed`.
    case acknowledged
    /// Refused: the partner's receipt said `failed`, or sealing was impossible.
    case failed
    /// Not delivered and acknowledged before its expiry.
    case expired

    /// True for the states a bundle never leaves.
    public var isFinal: Bool { self == .acknowledged || self == .failed || self == .expired }
}

/// What became of an incoming bundle.
public enum IncomingState: String, Sendable, Codable, CaseIterable {
    /// Verified, decrypted and published under `received/`.
    case published
    /// Refused and quarantined; a `failed` receipt was sent.
    case rejected
    /// Kept unopened in `spool/held/` because its claimed sender is not a partner here; a
    /// `held` receipt was sent. Opened when the sender's card is added, refused when it
    /// expires: the one state an incoming bundle leaves.
    case held
}

/// One outgoing bundle, as the journal holds it. Times are milliseconds since the Unix epoch.
public struct OutgoingRecord: Sendable, Codable, Equatable {
    /// Assigned before any side effect.
    public var bundleID: BundleID
    /// The recipient organisation.
    public var partner: ODSCode
    /// Where it is.
    public var state: OutgoingState
    /// When the record was claimed.
    public var createdAt: Int64
    /// When the state last changed.
    public var updatedAt: Int64
    /// After this, an undelivered or unacknowledged bundle expires.
    public var expiresAt: Int64
    /// Delivery attempts made.
    public var attempts: Int
    /// Earliest time of the next delivery attempt.
    public var nextAttemptAt: Int64
    /// SHA-256 of the exact bundle bytes, once sealed.
    public var bundleSHA256: String?
    /// Size of the sealed bundle.
    public var bundleSize: Int64?
    /// The most recent error, for `status`.
    public var lastError: String?
    /// The verified receipt, once acknowledged (or the failed one).
    public var receipt: [UInt8]?

    /// A newly claimed record.
    public init(bundleID: BundleID, partner: ODSCode, createdAt: Int64, expiresAt: Int64) {
        self.bundleID = bundleID
        self.partner = partner
        state = .queued
        self.createdAt = createdAt
        updatedAt = createdAt
        self.expiresAt = expiresAt
        attempts = 0
        nextAttemptAt = createdAt
    }
}

/// One file of an outgoing bundle.
public struct OutgoingFile: Sendable, Codable, Equatable {
    /// The bundle it belongs to.
    public var bundleID: BundleID
    /// Its position in the bundle.
    public var position: Int
    /// The name it is published under.
    public var name: String
    /// Its size in bytes.
    public var size: Int64
    /// Where the original was dropped (in the outbox).
    public var sourcePath: String
    /// Where the claimed original is kept until the receipt arrives.
    public var workPath: String

    /// A file.
    public init(bundleID: BundleID, position: Int, name: String, size: Int64, sourcePath: String, workPath: String) {
        self.bundleID = bundleID
        self.position = position
        self.name = name
        self.size = size
        self.sourcePath = sourcePath
        self.workPath = workPath
    }
}

/// One incoming bundle, as the journal holds it.
public struct IncomingRecord: Sendable, Codable, Equatable {
    /// The bundle's id.
    public var bundleID: BundleID
    /// The sending organisation (from the verified header, or as claimed when refused); nil when
    /// a refused bundle's header could not be read at all.
    public var sender: ODSCode?
    /// Published, rejected or held.
    public var state: IncomingState
    /// When it was processed (held: when it was put aside).
    public var receivedAt: Int64
    /// SHA-256 of the exact bundle bytes received.
    public var bundleSHA256: String
    /// Why it was refused, when rejected; why it is kept, when held.
    public var reason: String?
    /// Where it was published, when published.
    public var publishedPath: String?
    /// The published files as JSON (`[{"name","size","sha256"}]`), when published.
    public var files: String?
    /// The signed receipt sent back; a duplicate is answered with exactly these bytes.
    public var receipt: [UInt8]

    /// A record.
    public init(bundleID: BundleID, sender: ODSCode?, state: IncomingState, receivedAt: Int64, bundleSHA256: String,
                reason: String? = nil, publishedPath: String? = nil, files: String? = nil, receipt: [UInt8]) {
        self.bundleID = bundleID
        self.sender = sender
        self.state = state
        self.receivedAt = receivedAt
        self.bundleSHA256 = bundleSHA256
        self.reason = reason
        self.publishedPath = publishedPath
        self.files = files
        self.receipt = receipt
    }
}

/// One file of a published bundle, as journalled in ``IncomingRecord/files``.
public struct PublishedFile: Codable, Sendable, Equatable {
    public let name: String, size: Int64, sha256: String

    public init(from decoder: any Decoder) throws {
        let values = try decoder.container(keyedBy: CodingKeys.self)
        name = try values.decode(String.self, forKey: .name)
        sha256 = try values.decode(String.self, forKey: .sha256)
        // Journals written so far hold sizes as strings; read as integers, printed as integers.
        if let text = try? values.decode(String.self, forKey: .size), let size = Int64(text) {
            self.size = size
        } else {
            size = try values.decode(Int64.self, forKey: .size)
        }
    }

    enum CodingKeys: String, CodingKey { case name, size, sha256 }
}

extension IncomingRecord {
    /// How journals and listings write a sender whose header could not be read.
    public static let unknownSender = "unknown"

    /// The sender as text: its ODS code, or `unknown`.
    public var senderText: String { sender?.value ?? Self.unknownSender }

    /// The published files, in manifest order (none for a refused bundle or unreadable JSON).
    public var publishedFiles: [PublishedFile] {
        files.flatMap { try? JSONDecoder().decode([PublishedFile].self, from: Data($0.utf8)) } ?? []
    }
}

/// One state change of a bundle, kept forever.
public struct Transition: Sendable, Codable, Equatable {
    /// The bundle.
    public var bundleID: BundleID
    /// `out` or `in`.
    public var direction: String
    /// The state entered.
    public var state: String
    /// When (ms since the epoch).
    public var at: Int64
    /// Why, in words.
    public var detail: String?

    /// A transition.
    public init(bundleID: BundleID, direction: String, state: String, at: Int64, detail: String?) {
        self.bundleID = bundleID
        self.direction = direction
        self.state = state
        self.at = at
        self.detail = detail
    }
}

/// A newly claimed bundle: its record, its files and the detail of its first transition; for a
/// pack, its context and the name of its folder in the outbox.
public struct NewOutgoing: Sendable {
    public var record: OutgoingRecord
    public var files: [OutgoingFile]
    public var detail: String?
    /// What the pack is about (journalled with the claim, sealed into the manifest).
    public var context: PackContext?
    /// The pack folder's name in `outbox/<ODS>/`; nil for records dropped one by one.
    public var pack: String?

    public init(record: OutgoingRecord, files: [OutgoingFile], detail: String? = nil, context: PackContext? = nil,
                pack: String? = nil) {
        self.record = record
        self.files = files
        self.detail = detail
        self.context = context
        self.pack = pack
    }
}
