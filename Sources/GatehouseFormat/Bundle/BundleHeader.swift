import GatehouseCrypto

/// What a bundle carries. Version 1 defines only records (FORMAT.md §3.1).
public enum BundleKind: UInt8, Sendable, Hashable {
    /// Patient records for the recipients' healthcare staff.
    case records = 1
}

/// One recipient's way to the content key (FORMAT.md §3.1, §3.2).
public struct RecipientStanza: Hashable, Sendable {
    /// The recipient organisation.
    public let recipient: ODSCode
    /// Key id of the recipient's X25519 encryption key.
    public let keyID: KeyID
    /// The fresh ephemeral X25519 public key.
    public let ephemeral: [UInt8]
    /// The content key, wrapped (48 bytes).
    public let wrappedKey: [UInt8]
}

/// The cleartext, signed header of a bundle (FORMAT.md §3.1). Holds ids, key ids, ODS codes and
/// times only: nothing patient-identifiable.
public struct BundleHeader: Hashable, Sendable {
    /// `"GHB1\r\n\x1a\n"`: version 1, and bytes that expose text-mode and truncation damage.
    public static let magic: [UInt8] = [0x47, 0x48, 0x42, 0x31, 0x0D, 0x0A, 0x1A, 0x0A]
    /// Most recipients in one bundle.
    public static let maxRecipients = 32
    /// The fields before the stanzas, for a sender code of `ods` letters: magic, header_length,
    /// kind, bundle_id, created_at, sender, sender_key_id, commitment, stream_header, count.
    private static func fixedLength(ods: Int) -> Int { 8 + 4 + 1 + BundleID.length + 8 + (1 + ods) + KeyID.length + 32 + 24 + 1 }
    /// One stanza for a recipient code of `ods` letters: recipient, key_id, ephemeral, wrapped_key.
    private static func stanzaLength(ods: Int) -> Int { (1 + ods) + KeyID.length + 32 + KeyWrap.wrappedLength }
    /// Smallest possible header (one recipient, three-letter codes): 198 bytes.
    public static let minLength = fixedLength(ods: ODSCode.minLength) + stanzaLength(ods: ODSCode.minLength)
    /// Largest possible header without extensions (32 recipients, nine-letter codes): 3248 bytes.
    public static let maxLengthWithoutExtensions =
        fixedLength(ods: ODSCode.maxLength) + maxRecipients * stanzaLength(ods: ODSCode.maxLength)
    /// Largest possible header: 3248 bytes and the largest directory checkpoint extension,
    /// 19,635 bytes (FORMAT.md §3.1). A declared length beyond it is refused before it is read.
    public static let maxLength =
        maxLengthWithoutExtensions + CarriedCheckpoint.fieldLength(note: CarriedCheckpoint.maxNoteLength)

    /// Kind of bundle.
    public let kind: BundleKind
    /// The bundle id.
    public let bundleID: BundleID
    /// Seconds since the Unix epoch, set by the sender.
    public let createdAt: UInt64
    /// The sending organisation.
    public let sender: ODSCode
    /// Key id of the sender's signing key.
    public let senderKeyID: KeyID
    /// Key commitment (FORMAT.md §3.3).
    public let commitment: [UInt8]
    /// The secretstream header.
    public let streamHeader: [UInt8]
    /// One stanza per recipient organisation, in order.
    public let stanzas: [RecipientStanza]
    /// Extension `1`: the signed directory checkpoint the sender trusted when it sealed
    /// (FORMAT.md §3.1, DIRECTORY.md §7.2); nil when the sender follows no network.
    public let directoryCheckpoint: [UInt8]?

    /// The recipients, in stanza order.
    public var recipients: [ODSCode] { stanzas.map(\.recipient) }

    /// Builds a header, checking the rules a parser would check.
    public init(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode, senderKeyID: KeyID,
                commitment: [UInt8], streamHeader: [UInt8], stanzas: [RecipientStanza],
                directoryCheckpoint: [UInt8]? = nil) throws(FormatError) {
        guard (1...Self.maxRecipients).contains(stanzas.count) else {
            throw .invalidInput("a bundle has 1 to \(Self.maxRecipients) recipients, not \(stanzas.count)")
        }
        guard Set(stanzas.map(\.recipient)).count == stanzas.count else {
            throw .invalidInput("a recipient organisation is named twice")
        }
        precondition(commitment.count == 32 && streamHeader.count == SecretStream.headerLength)
        if let directoryCheckpoint {
            do { try CarriedCheckpoint.check(directoryCheckpoint) } catch { throw .invalidInput(error.detail) }
        }
        self.directoryCheckpoint = directoryCheckpoint
        self.kind = kind
        self.bundleID = bundleID
        self.createdAt = createdAt
        self.sender = sender
        self.senderKeyID = senderKeyID
        self.commitment = commitment
        self.streamHeader = streamHeader
        self.stanzas = stanzas
    }

    /// The canonical encoding.
    public func encoded() -> [UInt8] {
        var body = ByteBuilder(capacity: 512)
        body.u8(kind.rawValue)
        body.raw(bundleID.bytes)
        body.u64(createdAt)
        body.ods(sender)
        body.raw(senderKeyID.bytes)
        body.raw(commitment)
        body.raw(streamHeader)
        body.u8(UInt8(stanzas.count))
        for stanza in stanzas {
            body.ods(stanza.recipient)
            body.raw(stanza.keyID.bytes)
            body.raw(stanza.ephemeral)
            body.raw(stanza.wrappedKey)
        }
        // Checked when the header was made (init), so it is written as it is.
        if let directoryCheckpoint { CarriedCheckpoint.write(directoryCheckpoint, into: &body) }
        var out = ByteBuilder(capacity: body.bytes.count + 12)
        out.raw(Self.magic)
        out.u32(UInt32(Self.magic.count + 4 + body.bytes.count))
        out.raw(body.bytes)
        return out.bytes
    }

    /// Parses a header from the start of `bytes`.
    ///
    /// Returns `nil` when `bytes` is a valid prefix that needs more data, the header and its
    /// length when complete, and throws `malformed` as soon as the bytes cannot be a header.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(FormatError) -> (header: BundleHeader, length: Int)? {
        var c = ByteCursor(bytes)
        let magicPrefix = Array(bytes.prefix(magic.count))
        guard magicPrefix == Array(magic.prefix(magicPrefix.count)) else {
            throw .malformed("not a Gatehouse bundle (bad magic; version 1 bundles start with GHB1)")
        }
        guard c.raw(magic.count) != nil, let declared = c.u32() else { return nil }
        guard (minLength...maxLength).contains(Int(declared)) else {
            throw .malformed("header length \(declared) is outside \(minLength)…\(maxLength)")
        }
        guard bytes.count >= Int(declared) else { return nil }
        // From here the whole declared header is present: running out of bytes is malformed.
        var h = ByteCursor(bytes.prefix(Int(declared)).dropFirst(magic.count + 4))
        let short = FormatError.malformed("header ends before its fields (declared length \(declared))")
        guard let kindByte = h.u8() else { throw short }
        guard let kind = BundleKind(rawValue: kindByte) else { throw .malformed("bundle kind \(kindByte) is not defined in version 1") }
        guard let id = h.raw(BundleID.length), let createdAt = h.u64() else { throw short }
        let bundleID = try BundleID(bytes: id)
        guard let sender = try h.ods("sender"), let senderKey = h.raw(KeyID.length),
              let commitment = h.raw(32), let streamHeader = h.raw(SecretStream.headerLength),
              let count = h.u8() else { throw short.inBundle(bundleID.hex) }
        guard (1...maxRecipients).contains(Int(count)) else {
            throw .malformed("recipient count \(count) is outside 1…\(maxRecipients)", bundle: bundleID.hex)
        }
        var stanzas: [RecipientStanza] = []
        for index in 0..<Int(count) {
            guard let recipient = try h.ods("recipient \(index + 1)"), let keyID = h.raw(KeyID.length),
                  let ephemeral = h.raw(AgreementPublicKey.length), let wrapped = h.raw(KeyWrap.wrappedLength)
            else { throw short.inBundle(bundleID.hex) }
            stanzas.append(RecipientStanza(recipient: recipient, keyID: try KeyID(bytes: keyID), ephemeral: ephemeral, wrappedKey: wrapped))
        }
        // Extensions fill the rest of the declared length; version 1 defines one, tag 1.
        var checkpoint: [UInt8]?
        if h.remaining > 0 {
            do { checkpoint = try CarriedCheckpoint.parse(&h, in: "header extension") } catch {
                throw error.inBundle(bundleID.hex)
            }
        }
        guard h.remaining == 0 else {
            throw .malformed("header has \(h.remaining) bytes after its last extension", bundle: bundleID.hex)
        }
        guard Set(stanzas.map(\.recipient)).count == stanzas.count else {
            throw .malformed("a recipient organisation is named twice", bundle: bundleID.hex)
        }
        let header = try BundleHeader(kind: kind, bundleID: bundleID, createdAt: createdAt, sender: sender,
                                      senderKeyID: try KeyID(bytes: senderKey), commitment: commitment,
                                      streamHeader: streamHeader, stanzas: stanzas, directoryCheckpoint: checkpoint)
        return (header, Int(declared))
    }
}
