import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseKit

/// `gatehouse inspect BUNDLE [--json]`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a bundle's cleartext header without decrypting it.",
        discussion: """
            Shows the sender, the recipients and their key ids, times and sizes: everything a \
            relay can see. When the sender is a pinned partner, the outer signature is checked too.

            Examples:
              gatehouse inspect 3f2a…9c.ghb
              gatehouse inspect --json 3f2a…9c.ghb
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Flag(name: .long, help: "Print JSON (the shape is documented in the README).")
    var json = false

    @Argument(help: ArgumentHelp("The bundle file.", valueName: "bundle"))
    var bundle: String

    func run() throws {
        let gateway = Gateway(home: homeOptions.resolved)
        let inspection = try gateway.inspect(bundle)
        let document = InspectDocument(inspection)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(document), as: UTF8.self))
            return
        }
        print("bundle id:        \(document.bundleID)")
        print("format:           Gatehouse bundle v1 (\(document.kind))")
        print("sender:           \(document.sender) (signing key \(document.senderKeyID))")
        print("created:          \(document.createdAt)")
        for r in document.recipients { print("recipient:        \(r.org) (encryption key \(r.keyID))") }
        print("size:             \(document.size) bytes (header \(document.headerSize))")
        print("outer signature:  \(document.outerSignature)")
    }
}

/// `inspect --json` output.
struct InspectDocument: Encodable {
    struct Recipient: Encodable {
        let org: String
        let keyID: String
        enum CodingKeys: String, CodingKey { case org, keyID = "key_id" }
    }

    let bundleID: String
    let kind: String
    let sender: String
    let senderKeyID: String
    let createdAt: String
    let recipients: [Recipient]
    let size: UInt64
    let headerSize: Int
    let outerSignature: String

    enum CodingKeys: String, CodingKey {
        case bundleID = "bundle_id", kind, sender, senderKeyID = "sender_key_id", createdAt = "created_at"
        case recipients, size, headerSize = "header_size", outerSignature = "outer_signature"
    }

    init(_ inspection: BundleInspection) {
        let h = inspection.header
        bundleID = h.bundleID.hex
        kind = "records"
        sender = h.sender.value
        senderKeyID = h.senderKeyID.hex
        createdAt = RFC3339.format(h.createdAt) ?? String(h.createdAt)
        recipients = h.stanzas.map { Recipient(org: $0.recipient.value, keyID: $0.keyID.hex) }
        size = inspection.length
        headerSize = h.encoded().count
        outerSignature = switch inspection.signature {
        case .valid: "valid"
        case .invalid: "invalid"
        case .unknownSender: "unknown-sender"
        case .malformed(let why): "malformed: \(why)"
        }
    }
}
