public import GatehouseFormat
public import GatehouseCrypto
import Foundation

/// The verified manifest as JSON, published beside the records for staff and scripts.
public struct ManifestDocument: Codable, Sendable, Equatable {
    /// One file.
    public struct File: Codable, Sendable, Equatable {
        public let name: String
        public let size: UInt64
        public let sha256: String
        public let nhsNumber: String?

        enum CodingKeys: String, CodingKey {
            case name, size, sha256
            case nhsNumber = "nhs_number"
        }
    }

    public let bundleID: String
    public let sender: String
    public let senderKeyID: String
    public let recipients: [String]
    public let createdAt: String
    public let subject: String
    public let files: [File]
    public let bundleSHA256: String?

    enum CodingKeys: String, CodingKey {
        case bundleID = "bundle_id", sender, senderKeyID = "sender_key_id", recipients
        case createdAt = "created_at", subject, files, bundleSHA256 = "bundle_sha256"
    }

    /// The document for a verified manifest.
    public init(_ manifest: Manifest, bundleSHA256: SHA256Digest? = nil) {
        bundleID = manifest.bundleID.hex
        sender = manifest.sender.value
        senderKeyID = manifest.signerKeyID.hex
        recipients = manifest.recipients.map(\.value)
        createdAt = Timestamp.rfc3339(manifest.createdAt)
        subject = manifest.subject
        files = manifest.files.map { File(name: $0.name, size: $0.size, sha256: $0.sha256.hex, nhsNumber: $0.nhsNumber) }
        self.bundleSHA256 = bundleSHA256?.hex
    }

    /// Pretty, key-sorted JSON with a final newline.
    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try! encoder.encode(self)) + [0x0A]
    }
}

/// RFC 3339 UTC timestamps, as every Gatehouse output writes them.
public enum Timestamp {
    /// `2026-11-25T09:30:00Z` for seconds since the epoch.
    public static func rfc3339(_ seconds: UInt64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ v: Int32, _ n: Int = 2) -> String { String(repeating: "0", count: max(0, n - String(v).count)) + String(v) }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
    }

    /// Seconds since the epoch, now.
    public static func now() -> UInt64 { UInt64(time(nil)) }
}
