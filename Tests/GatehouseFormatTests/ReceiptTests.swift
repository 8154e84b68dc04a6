import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Testing

@Suite("Receipts")
struct ReceiptTests {
    let practice = TestOrganisation("A81001")
    let prison = TestOrganisation("YOI123")
    let outsider = TestOrganisation("XHM01")
    let bundleDigest = SHA256Hasher.hash(Array("bundle bytes".utf8))

    func processed(signer: TestOrganisation? = nil) throws -> Receipt {
        try Receipt.signed(bundleID: BundleID(hex: "00112233445566778899aabbccddeeff"), bundleSender: practice.ods, receiver: prison.ods,
                           bundleSHA256: bundleDigest, receivedAt: 1_795_000_100, disposition: .processed,
                           manifestSHA256: SHA256Hasher.hash([1]), fileDigests: [SHA256Hasher.hash([2]), SHA256Hasher.hash([3])],
                           signingKey: (signer ?? prison).signing)
    }

    @Test func roundTripAndVerify() throws {
        let receipt = try processed()
        let parsed = try Receipt.parse(receipt.encoded)
        #expect(parsed == receipt)
        try parsed.verify(from: prison.ods, key: prison.signing.publicKey, sender: practice.ods, sentSHA256: bundleDigest)
    }

    @Test func failedReceiptCarriesReason() throws {
        for reason in ReceiptReason.allCases {
            let receipt = try Receipt.signed(bundleID: .random(), bundleSender: practice.ods, receiver: prison.ods, bundleSHA256: bundleDigest,
                                             receivedAt: 1, disposition: .failed(reason), manifestSHA256: nil, fileDigests: [],
                                             signingKey: prison.signing)
            #expect(try Receipt.parse(receipt.encoded).disposition == .failed(reason))
        }
    }

    @Test func aHeldReceiptIsNotFinalAndGivesUnknownSenderOnly() throws {
        let held = try Receipt.signed(bundleID: .random(), bundleSender: practice.ods, receiver: prison.ods, bundleSHA256: bundleDigest,
                                      receivedAt: 1, disposition: .held(.unknownSender), manifestSHA256: nil, fileDigests: [],
                                      signingKey: prison.signing)
        #expect(try Receipt.parse(held.encoded).disposition == .held(.unknownSender))
        #expect(!held.disposition.isFinal && ReceiptDisposition.processed.isFinal && ReceiptDisposition.failed(.expired).isFinal)
        for reason in ReceiptReason.allCases where reason != .unknownSender {
            #expect(throws: FormatError.self) {
                try Receipt.signed(bundleID: .random(), bundleSender: practice.ods, receiver: prison.ods, bundleSHA256: bundleDigest,
                                   receivedAt: 1, disposition: .held(reason), manifestSHA256: nil, fileDigests: [],
                                   signingKey: prison.signing)
            }
        }
    }

    @Test func digestMismatchIsNeverAnAcknowledgement() throws {
        let receipt = try processed()
        #expect(throws: FormatError.self) {
            try receipt.verify(from: prison.ods, key: prison.signing.publicKey, sender: practice.ods, sentSHA256: SHA256Hasher.hash([9]))
        }
    }

    @Test func forgedReceiptIsRefused() throws {
        // Signed by someone else, or claimed to be from someone else.
        let forged = try processed(signer: outsider)
        #expect(throws: FormatError.self) {
            try forged.verify(from: prison.ods, key: prison.signing.publicKey, sender: practice.ods, sentSHA256: bundleDigest)
        }
        let genuine = try processed()
        #expect(throws: FormatError.self) {
            try genuine.verify(from: outsider.ods, key: outsider.signing.publicKey, sender: practice.ods, sentSHA256: bundleDigest)
        }
    }

    @Test func everyByteChangeIsRefused() throws {
        let bytes = try processed().encoded
        for i in bytes.indices {
            var changed = bytes
            changed[i] ^= 0x01
            var accepted = false
            if let r = try? Receipt.parse(changed),
               (try? r.verify(from: prison.ods, key: prison.signing.publicKey, sender: practice.ods, sentSHA256: bundleDigest)) != nil {
                accepted = true
            }
            #expect(!accepted, "byte \(i) changed and still accepted")
        }
    }

    @Test func truncatedAndExtendedAreMalformed() throws {
        let bytes = try processed().encoded
        for cut in 0..<bytes.count {
            #expect(throws: FormatError.self) { try Receipt.parse(Array(bytes.prefix(cut))) }
        }
        #expect(throws: FormatError.self) { try Receipt.parse(bytes + [0]) }
    }
}
