import GatehouseCrypto
import GatehouseFormat
import GatehouseKit
import GatehouseTesting
import Testing

/// `.gatehouse-manifest.json` byte for byte, as FORMAT.md §3.12 specifies it.
@Suite("The published manifest document")
struct ManifestDocumentTests {
    @Test func bytesAreThoseTheSpecificationGives() throws {
        let practice = TestOrganisation("A81001")
        let prison = TestOrganisation("YOI123")
        let files = [
            ManifestFile(name: "summary \"draft\" é.xml", size: 1234, sha256: SHA256Hasher.hash([1])),
            ManifestFile(name: "scan-1.pdf", size: 0, sha256: SHA256Hasher.hash([])),
        ]
        let context = PackContext(subject: #"Transfer a/b \ "urgent""#, workflow: try Workflow("reception-summary"),
                                  nhsNumbers: ["9990000018", "9990000026"])
        let manifest = try Manifest.signed(kind: .records, bundleID: try BundleID(hex: "00112233445566778899aabbccddeeff"),
                                           createdAt: 1_795_599_000, sender: practice.ods, recipients: [prison.ods, practice.ods],
                                           context: context, files: files, signingKey: practice.signing)
        let document = ManifestDocument(manifest, bundleSHA256: SHA256Hasher.hash([2]))
        let expected = """
            {
              "bundle_id" : "00112233445566778899aabbccddeeff",
              "bundle_sha256" : "\(SHA256Hasher.hash([2]).hex)",
              "created_at" : "2026-11-25T09:30:00Z",
              "files" : [
                {
                  "name" : "summary \\"draft\\" é.xml",
                  "sha256" : "\(SHA256Hasher.hash([1]).hex)",
                  "size" : 1234
                },
                {
                  "name" : "scan-1.pdf",
                  "sha256" : "\(SHA256Hasher.hash([]).hex)",
                  "size" : 0
                }
              ],
              "nhs_numbers" : [
                "9990000018",
                "9990000026"
              ],
              "recipients" : [
                "YOI123",
                "A81001"
              ],
              "sender" : "A81001",
              "sender_key_id" : "\(KeyID(signing: practice.signing.publicKey).hex)",
              "subject" : "Transfer a/b \\\\ \\"urgent\\"",
              "workflow" : "reception-summary"
            }

            """
        #expect(String(decoding: document.json(), as: UTF8.self) == expected)
        #expect(document.json() == Array(expected.utf8))
    }

    @Test func aPackWithoutNHSNumbersLeavesTheKeyOut() throws {
        let practice = TestOrganisation("A81001")
        let manifest = try Manifest.signed(kind: .records, bundleID: .random(), createdAt: 1_795_599_000, sender: practice.ods,
                                           recipients: [practice.ods], files: [ManifestFile(name: "a.txt", size: 0, sha256: SHA256Hasher.hash([]))],
                                           signingKey: practice.signing)
        let text = String(decoding: ManifestDocument(manifest).json(), as: UTF8.self)
        #expect(!text.contains("nhs_numbers") && text.contains(#""workflow" : "other""#), "\(text)")
    }
}
