import Foundation
import GatehouseCrypto
@testable import GatehouseFormat
import GatehouseTesting
import Testing

/// The vectors of FORMAT.md §3.1's header extensions: bundles carrying the sender's directory
/// checkpoint (the committed docs/vectors/directory checkpoints), and headers a reader must refuse;
/// and fuzz seeds that reach the field in a header and in a receipt.
/// `GATEHOUSE_WRITE_VECTORS=1 swift test --filter VectorGenerator/writeHeaderExtensionVectorsOnly`
/// writes only these.
extension VectorGenerator {
    func writeHeaderExtensionVectors() throws {
        let directory = VectorFile.folder.appendingPathComponent("directory")
        let checkpoint = Array(try Data(contentsOf: directory.appendingPathComponent("log/checkpoint")))
        let cosigned = Array(try Data(contentsOf: directory.appendingPathComponent("log/witness/f0d116dd")))
        let summary = Array("<summary nhs=\"9990000018\">Ada Testperson</summary>\n".utf8)
        let files = [Input(name: "summary.xml", bytes: summary)]
        for (name, note, what) in [
            ("directory-checkpoint", checkpoint, "directory/log/checkpoint"),
            ("directory-checkpoint-cosigned", cosigned, "directory/log/witness/f0d116dd, with a witness cosignature"),
        ] {
            let bytes = try seal(files, from: practice, to: [prison]) { $0.directoryCheckpoint = note }
            let comment = "the header carries extension 1, the sender's directory checkpoint (\(what))"
            try write("success-\(name)", "success", comment, bytes, files: files)
            // A seed for the header fuzzer that reaches the extension's parser.
            let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fuzz/corpus/header/seed-\(name)")
            try Data(bytes.prefix(try #require(try BundleHeader.parse(bytes[...])).length)).write(to: corpus)
        }

        // A seed for the receipt fuzzer with the same field (FORMAT.md §4.1), signed deterministically.
        let receipt = try Receipt.signed(
            bundleID: try BundleID(bytes: Array(repeating: 0xAB, count: 16)), bundleSender: practice.ods,
            receiver: prison.ods, bundleSHA256: SHA256Hasher.hash([1]), receivedAt: 1_796_205_600,
            disposition: .failed(.duplicate), manifestSHA256: nil, fileDigests: [], directoryCheckpoint: checkpoint,
            signingKey: prison.signing)
        try Data(receipt.encoded).write(to: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/receipt/seed-directory-checkpoint"))

        // Headers a reader refuses at step 1, whatever the rest: re-signed by A81001, so that only the rule fails.
        let plain = try seal(files, from: practice, to: [prison])
        let length = try #require(try BundleHeader.parse(plain[...])).length
        func withTail(_ tail: [UInt8]) -> [UInt8] {
            let total = length + tail.count
            let declared = [24, 16, 8, 0].map { UInt8(total >> $0 & 0xFF) }
            let header = Array(plain.prefix(8)) + declared + Array(plain[12..<length]) + tail
            return resign(header + Array(plain.dropFirst(length)), by: practice)
        }
        func field(_ note: [UInt8], tag: UInt8 = 1, declared: Int? = nil) -> [UInt8] {
            let n = declared ?? note.count
            return [tag, UInt8(n >> 8), UInt8(n & 0xFF)] + note
        }
        let root = CardFixtures.signingKey("directory-network-root")
        let verifier = try NoteVerifierKey(name: "directory.nhs.example/test", key: root.publicKey)
        let notACheckpoint = try SignedNote.sign(
            "directory.nhs.example/test\nhello\n", verifier: verifier, key: root).bytes
        for (name, comment, tail) in [
            ("tag-2", "an extension with tag 2, undefined in version 1", field(checkpoint, tag: 2)),
            ("truncated", "extension 1 declares one byte more than the header holds",
             field(checkpoint, declared: checkpoint.count + 1)),
            ("oversized", "extension 1 of 16385 bytes, beyond 16384", field(Array(repeating: 0x41, count: 16_385))),
            ("not-a-checkpoint", "extension 1 holds a note signed by the network key whose text is not a checkpoint",
             field(notACheckpoint)),
        ] {
            try write("malformed-header-extension-\(name)", "malformed", comment, withTail(tail))
        }
    }

    @Test(.enabled(if: enabled)) func writeHeaderExtensionVectorsOnly() throws {
        try writeHeaderExtensionVectors()
    }
}
