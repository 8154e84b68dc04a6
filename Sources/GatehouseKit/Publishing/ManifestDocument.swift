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
    }

    public let bundleID: String
    public let sender: String
    public let senderKeyID: String
    public let recipients: [String]
    public let createdAt: String
    public let subject: String
    /// The pack's workflow id.
    public let workflow: String
    /// The pack's NHS numbers; nil (left out of the JSON) when it names none.
    public let nhsNumbers: [String]?
    public let files: [File]
    public let bundleSHA256: String?

    enum CodingKeys: String, CodingKey {
        case bundleID = "bundle_id", sender, senderKeyID = "sender_key_id", recipients
        case createdAt = "created_at", subject, workflow, nhsNumbers = "nhs_numbers", files
        case bundleSHA256 = "bundle_sha256"
    }

    /// The document for a verified manifest.
    public init(_ manifest: Manifest, bundleSHA256: SHA256Digest? = nil) {
        bundleID = manifest.bundleID.hex
        sender = manifest.sender.value
        senderKeyID = manifest.signerKeyID.hex
        recipients = manifest.recipients.map(\.value)
        createdAt = RFC3339.format(manifest.createdAt) ?? String(manifest.createdAt)
        subject = manifest.context.subject
        workflow = manifest.context.workflow.value
        nhsNumbers = manifest.context.nhsNumbers.isEmpty ? nil : manifest.context.nhsNumbers
        files = manifest.files.map { File(name: $0.name, size: $0.size, sha256: $0.sha256.hex) }
        self.bundleSHA256 = bundleSHA256?.hex
    }

    /// Pretty, key-sorted JSON with a final newline.
    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try! encoder.encode(self)) + [0x0A]
    }
}
