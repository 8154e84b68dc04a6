import GatehouseCrypto
import GatehouseFormat
import GatehouseSFTP

/// The parsers that take untrusted bytes, run the same way by the libFuzzer executable
/// (`make fuzz`) and by the tests that replay committed crash inputs.
public enum FuzzHarness {
    /// One fuzz target per parser.
    public enum Target: String, CaseIterable, Sendable {
        case header, manifest, receipt, fileTable = "file-table", bundle, sftp
        /// The identity card with its key manifest (text, up to 64 KiB).
        case identityCard = "identity-card"
        /// The directory's signed checkpoint, its signed note and its entries (DIRECTORY.md §3, §4, §6).
        case checkpoint
        /// Tile paths, hash tiles and entry bundles, and a gateway following a log (DIRECTORY.md §5, §7).
        case tile
    }

    /// Runs `bytes` through `target`'s parser. Traps (so the fuzzer reports a crash) when a
    /// parser accepts bytes that do not re-encode to themselves: parsing must be canonical.
    public static func run(_ target: Target, _ bytes: [UInt8]) {
        switch target {
        case .header:
            if let (header, length) = try? BundleHeader.parse(bytes[...]) {
                precondition(header.encoded() == Array(bytes.prefix(length)), "header is not canonical")
            }
        case .manifest:
            if let manifest = try? Manifest.parse(bytes) { precondition(manifest.encoded == bytes, "manifest is not canonical") }
        case .receipt:
            if let receipt = try? Receipt.parse(bytes) { precondition(receipt.encoded == bytes, "receipt is not canonical") }
        case .fileTable:
            if let (entries, length) = try? FileTable.parse(bytes[...]) {
                precondition(FileTable.encode(entries) == Array(bytes.prefix(length)), "file table is not canonical")
            }
        case .sftp:
            // The SFTP packet parser on a stream: every packet that parses re-encodes to itself.
            var parser = SFTPPacketParser()
            parser.append(bytes)
            var consumed = 0
            while let message = try? parser.next() {
                if case .unknown = message { break }
                let encoded = message.encoded()
                precondition(consumed + encoded.count <= bytes.count
                    && Array(bytes[consumed..<(consumed + encoded.count)]) == encoded, "SFTP packet is not canonical")
                consumed += encoded.count
                mailboxExtension(message)
            }
        case .identityCard:
            // A card that parses re-parses from its canonical text to the same card, and the
            // signer rules answer for any key id and time without trapping.
            guard let text = String(validating: bytes, as: UTF8.self), let card = try? IdentityCard.parse(text) else { return }
            precondition((try? IdentityCard.parse(card.text)) == card, "identity card does not round-trip")
            var seed = bytes.count
            for record in card.manifest.keys {
                for time in [0, record.from, record.usableUntil, UInt64.max, RFC3339.maxSeconds] {
                    seed = seed &* 31 &+ 7
                    _ = try? card.signer(record.id, signedAt: time, now: UInt64(truncatingIfNeeded: seed))
                }
            }
        case .checkpoint, .tile:
            DirectoryFuzzing.run(target, bytes)
        case .bundle:
            // The whole opening path as YOI123 receiving from A81001 (test keys): framing,
            // parsing and every refusal, with memory and time bounded by the format's limits;
            // read in two passes (FORMAT.md §3.10 literally) and in one, which must agree.
            let sender = TestOrganisation.shared
            let reader = try! ODSCode("YOI123")
            let key = { (_: KeyID) in try AgreementSecretKey(secret: TestOrganisation.testSeed("YOI123-encryption")) }
            func category(_ body: () throws(FormatError) -> Void) -> FormatError.Category? {
                do { try body(); return nil } catch { return error.category }
            }
            let twoPasses = category { () throws(FormatError) in
                let envelope = try BundleVerifier.verify(MemorySource(bytes), senderKey: { _ in sender.signing.publicKey })
                _ = try BundleOpener(reader: reader).open(envelope, from: MemorySource(bytes), decryptionKey: key, into: DiscardingSink())
            }
            let onePass = category { () throws(FormatError) in
                _ = try OnePassOpener(reader: reader).open(
                    MemorySource(bytes), senderKey: { _ in sender.signing.publicKey }, decryptionKey: key, into: DiscardingSink())
            }
            precondition(twoPasses == onePass, "one pass: \(String(describing: onePass)), two passes: \(String(describing: twoPasses))")
        }
    }
}

extension FuzzHarness {
    /// Gatehouse's own extensions inside a packet: a request decodes to the same request from
    /// what it re-encodes to (an explicit zero flags field of `mailbox-wait@gatehouse` is the
    /// request without one), and a reply that decodes re-encodes to its bytes.
    static func mailboxExtension(_ message: SFTPMessage) {
        switch message {
        case .extended(_, let name, let data):
            guard let request = try? SFTPExtendedRequest.decode(name: name, data: data) else { return }
            if case .other = request { return }
            guard case .extended(_, _, let again) = request.message(id: 0) else { preconditionFailure("not extended") }
            precondition((try? SFTPExtendedRequest.decode(name: name, data: again)) == request, "\(name) changes meaning")
        case .extendedReply(_, let data):
            if let uploads = try? SFTPMailboxUploads.decode(data) {
                precondition(SFTPMailboxUploads.encoded(uploads) == data, "uploads reply is not canonical")
            }
            if let state = try? SFTPUploadState.decode(data) {
                precondition(state.encoded() == data, "upload state reply is not canonical")
            }
        default: return
        }
    }
}

extension TestOrganisation {
    /// A81001 with its test keys, made once.
    static let shared = TestOrganisation("A81001")
}

/// Drops everything written to it.
public final class DiscardingSink: OpenedFileSink {
    /// A sink.
    public init() {}
    public func beginFile(_ entry: FileTableEntry, index: Int) throws {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws {}
    public func endFile() throws {}
}
