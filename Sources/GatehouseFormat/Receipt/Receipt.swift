public import GatehouseCrypto

/// What the receiver did with a bundle (FORMAT.md §4).
public enum ReceiptDisposition: Hashable, Sendable {
    /// Verified, decrypted and published.
    case processed
    /// Refused, with the reason.
    case failed(ReceiptReason)
    /// Not final: kept unopened by the receiver, with the reason (FORMAT.md §4.1; version 1
    /// defines `unknown-sender` only: the receiver has not pinned the sender's card yet). A
    /// `processed` or `failed` receipt for the same bundle follows.
    case held(ReceiptReason)

    /// The reasons a `held` receipt may give (FORMAT.md §4.1).
    public static let heldReasons: Set<ReceiptReason> = [.unknownSender]

    /// True for `processed` and `failed`: the receiver's last word about the bundle.
    public var isFinal: Bool {
        if case .held = self { false } else { true }
    }
}

/// Why a bundle was refused: the closed list of FORMAT.md §4.
public enum ReceiptReason: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case authenticationFailed = 1, decryptionFailed, integrityCheckFailed, decompressionFailed,
         unknownSender, revokedKey, expired, duplicate, malformed, notARecipient, tooLarge

    /// The reason's name as written in FORMAT.md and shown to people.
    public var description: String {
        switch self {
        case .authenticationFailed: "authentication-failed"
        case .decryptionFailed: "decryption-failed"
        case .integrityCheckFailed: "integrity-check-failed"
        case .decompressionFailed: "decompression-failed"
        case .unknownSender: "unknown-sender"
        case .revokedKey: "revoked-key"
        case .expired: "expired"
        case .duplicate: "duplicate"
        case .malformed: "malformed"
        case .notARecipient: "not-a-recipient"
        case .tooLarge: "too-large"
        }
    }

    /// The reason a receipt gives for a bundle refused with `category`, if any.
    public init?(_ category: FormatError.Category) {
        // A key the receiver does not know is, for the sender, an unknown signer.
        if category == .unknownKey { self = .unknownSender; return }
        guard let reason = Self.allCases.first(where: { $0.description == category.rawValue }) else { return nil }
        self = reason
    }
}

/// A receiving organisation's signed statement about one bundle (FORMAT.md §4).
public struct Receipt: Hashable, Sendable {
    /// `"GHR1\r\n\x1a\n"`.
    public static let magic: [UInt8] = [0x47, 0x48, 0x52, 0x31, 0x0D, 0x0A, 0x1A, 0x0A]
    /// The longest possible receipt: every field at its largest (two 9-letter ODS codes and
    /// 4096 file digests).
    public static let maxLength = magic.count + BundleID.length + 2 * (1 + 9) + KeyID.length + 32 + 8 + 1 + 1 + 32 + 2
        + PayloadLayout.maxFiles * 32 + CarriedCheckpoint.fieldLength(note: CarriedCheckpoint.maxNoteLength)
        + SigningPublicKey.signatureLength

    /// The bundle this receipt is about.
    public let bundleID: BundleID
    /// The organisation that sent the bundle.
    public let bundleSender: ODSCode
    /// The organisation that signed this receipt.
    public let receiver: ODSCode
    /// Key id of the receiver's signing key.
    public let receiverKeyID: KeyID
    /// SHA-256 of the exact bundle bytes received.
    public let bundleSHA256: SHA256Digest
    /// Seconds since the Unix epoch.
    public let receivedAt: UInt64
    /// Processed, failed with a reason, or held (not final) with a reason.
    public let disposition: ReceiptDisposition
    /// SHA-256 of the verified manifest bytes (nil when failed).
    public let manifestSHA256: SHA256Digest?
    /// The verified file digests, in manifest order (empty when failed).
    public let fileDigests: [SHA256Digest]
    /// The signed directory checkpoint the receiver trusted when it signed (DIRECTORY.md §7.2),
    /// when it follows a network: its partner compares it with its own copy.
    public let directoryCheckpoint: [UInt8]?
    /// The receiver's signature.
    public let signature: [UInt8]
    /// The exact encoded bytes.
    public let encoded: [UInt8]

    /// Builds and signs a receipt.
    public static func signed(bundleID: BundleID, bundleSender: ODSCode, receiver: ODSCode, bundleSHA256: SHA256Digest,
                              receivedAt: UInt64, disposition: ReceiptDisposition, manifestSHA256: SHA256Digest?,
                              fileDigests: [SHA256Digest], directoryCheckpoint: [UInt8]? = nil,
                              signingKey: borrowing SigningSecretKey) throws(FormatError) -> Receipt {
        let processed = disposition == .processed
        guard processed == (manifestSHA256 != nil), processed || fileDigests.isEmpty else {
            throw .invalidInput("a processed receipt names the manifest digest; a failed or held one names no digests")
        }
        if case .held(let reason) = disposition, !ReceiptDisposition.heldReasons.contains(reason) {
            throw .invalidInput("a held receipt gives unknown-sender as its reason, not \(reason)")
        }
        guard fileDigests.count <= PayloadLayout.maxFiles else { throw .invalidInput("too many file digests") }
        var b = ByteBuilder(capacity: 200 + 32 * fileDigests.count)
        b.raw(magic)
        b.raw(bundleID.bytes)
        b.ods(bundleSender)
        b.ods(receiver)
        b.raw(KeyID(signing: signingKey.publicKey).bytes)
        b.raw(bundleSHA256.bytes)
        b.u64(receivedAt)
        switch disposition {
        case .processed: b.u8(1); b.u8(0)
        case .failed(let reason): b.u8(2); b.u8(reason.rawValue)
        case .held(let reason): b.u8(3); b.u8(reason.rawValue)
        }
        b.raw(manifestSHA256?.bytes ?? Array(repeating: 0, count: 32))
        b.u16(UInt16(fileDigests.count))
        for digest in fileDigests { b.raw(digest.bytes) }
        if let directoryCheckpoint { try CarriedCheckpoint.encode(directoryCheckpoint, into: &b) }
        let signature = SignatureContext.receipt.sign(SHA256Hasher.hash(b.bytes), with: signingKey)
        return try parse(b.bytes + signature)
    }

    /// Parses a receipt strictly (FORMAT.md §4). Checks structure, not the signature.
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> Receipt {
        var c = ByteCursor(bytes)
        let short = FormatError.malformed("the receipt is truncated")
        guard let m = c.raw(magic.count) else { throw short }
        guard m == magic else { throw .malformed("not a Gatehouse receipt (bad magic)") }
        guard let id = c.raw(BundleID.length), let sender = try c.ods("bundle sender"), let receiver = try c.ods("receiver"),
              let keyID = c.raw(KeyID.length), let bundleDigest = c.raw(32), let receivedAt = c.u64(),
              let dispositionByte = c.u8(), let reasonByte = c.u8(), let manifestDigest = c.raw(32), let count = c.u16()
        else { throw short }
        let disposition: ReceiptDisposition
        switch (dispositionByte, reasonByte) {
        case (1, 0): disposition = .processed
        case (2, let r):
            guard let reason = ReceiptReason(rawValue: r) else { throw .malformed("receipt reason \(r) is not defined") }
            disposition = .failed(reason)
        case (3, let r):
            // Held is not final, so its reasons are a closed list of their own (version 1: one).
            guard let reason = ReceiptReason(rawValue: r), ReceiptDisposition.heldReasons.contains(reason) else {
                throw .malformed("a held receipt with reason \(r) is not defined (only 5, unknown-sender)")
            }
            disposition = .held(reason)
        default: throw .malformed("receipt disposition \(dispositionByte) with reason \(reasonByte) is not defined")
        }
        let processed = disposition == .processed
        guard count <= PayloadLayout.maxFiles else { throw .malformed("receipt lists \(count) digests") }
        guard processed || (count == 0 && manifestDigest.allSatisfy { $0 == 0 }) else {
            throw .malformed("a failed or held receipt must not carry digests")
        }
        var digests: [SHA256Digest] = []
        for _ in 0..<count {
            guard let d = c.raw(32) else { throw short }
            digests.append(SHA256Digest(bytes: d)!)
        }
        // Optional, and only from a receiver that follows a network: the checkpoint it trusted.
        var checkpoint: [UInt8]?
        if c.remaining > SigningPublicKey.signatureLength {
            checkpoint = try CarriedCheckpoint.parse(&c, in: "the receipt (or bytes follow its signature)")
        }
        guard let signature = c.raw(SigningPublicKey.signatureLength) else { throw short }
        guard c.remaining == 0 else { throw .malformed("\(c.remaining) bytes follow the receipt's signature") }
        let bundleID = try BundleID(bytes: id)
        return Receipt(bundleID: bundleID, bundleSender: sender, receiver: receiver, receiverKeyID: try KeyID(bytes: keyID),
                       bundleSHA256: SHA256Digest(bytes: bundleDigest)!, receivedAt: receivedAt, disposition: disposition,
                       manifestSHA256: processed ? SHA256Digest(bytes: manifestDigest)! : nil, fileDigests: digests,
                       directoryCheckpoint: checkpoint, signature: signature, encoded: bytes)
    }

    /// The sender's acceptance check (FORMAT.md §4): signed by `partner` with `key`, about the
    /// bundle whose exact bytes hashed to `sentSHA256`. Throws with the reason otherwise.
    public func verify(from partner: ODSCode, key: SigningPublicKey, sender: ODSCode, sentSHA256: SHA256Digest) throws(FormatError) {
        try verifySignature(from: partner, key: key, sender: sender)
        guard bundleSHA256.constantTimeEquals(sentSHA256) else {
            throw .integrityCheckFailed("the receipt names bundle digest \(bundleSHA256), but the bundle sent has \(sentSHA256)", bundle: bundleID.hex)
        }
    }

    /// Checks who signed the receipt and for whom, but not the bundle digest: a `failed`
    /// receipt for bytes altered in transit names the altered bytes' digest, and the sender must
    /// still learn that its bundle failed.
    public func verifySignature(from partner: ODSCode, key: SigningPublicKey, sender: ODSCode) throws(FormatError) {
        let id = bundleID.hex
        guard receiver == partner else { throw .authenticationFailed("the receipt is from \(receiver), the bundle went to \(partner)", bundle: id) }
        guard bundleSender == sender else { throw .integrityCheckFailed("the receipt is for a bundle sent by \(bundleSender), not \(sender)", bundle: id) }
        guard receiverKeyID == KeyID(signing: key) else {
            throw .unknownSender("the receipt is signed with \(receiver)'s key \(receiverKeyID), which is not its known signing key", bundle: id)
        }
        let body = Array(encoded.dropLast(SigningPublicKey.signatureLength))
        guard SignatureContext.receipt.verify(signature, over: SHA256Hasher.hash(body), by: key) else {
            throw .authenticationFailed("the receipt's signature does not verify against \(receiver)'s signing key", bundle: id)
        }
    }
}
