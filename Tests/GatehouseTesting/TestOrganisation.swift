import GatehouseCrypto
import GatehouseFormat

/// A test organisation whose keys derive from public labels (FORMAT.md, "Test vectors"):
/// `seed = SHA-256("gatehouse/v1/test-key\0" || label)`. Test keys, not secrets.
public final class TestOrganisation: @unchecked Sendable {
    /// The organisation's code.
    public let ods: ODSCode
    /// Its operational signing key.
    public let signing: SigningSecretKey
    /// Its encryption key.
    public let encryption: AgreementSecretKey

    /// An organisation with keys derived from `"<ods>-signing"` and `"<ods>-encryption"`,
    /// or from `label` variants when given (to make a second, different key for the same code).
    public init(_ ods: String, label: String? = nil) {
        self.ods = try! ODSCode(ods)
        let base = label ?? ods
        signing = try! SigningSecretKey(seed: Self.testSeed("\(base)-signing"))
        encryption = try! AgreementSecretKey(secret: Self.testSeed("\(base)-encryption"))
    }

    /// The test-key derivation from FORMAT.md.
    public static func testSeed(_ label: String) -> SecretBytes {
        let digest = SHA256Hasher.hash(Array("gatehouse/v1/test-key\0".utf8) + Array(label.utf8))
        return SecretBytes(copying: digest.bytes)
    }

    /// This organisation as a recipient.
    public var recipient: SealRecipient { SealRecipient(org: ods, key: encryption.publicKey) }
}

/// Collects opened files in memory, for tests.
public final class CollectingSink: OpenedFileSink {
    /// Completed files, in order.
    public private(set) var files: [(name: String, bytes: [UInt8])] = []
    private var current: (name: String, bytes: [UInt8])?

    /// An empty sink.
    public init() {}

    public func beginFile(_ entry: FileTableEntry, index: Int) throws { current = (entry.name, []) }
    public func write(_ bytes: UnsafeRawBufferPointer) throws { current!.bytes.append(contentsOf: bytes) }
    public func endFile() throws {
        files.append(current!)
        current = nil
    }
}

/// Seals and opens bundles in memory between test organisations.
public enum BundleFixture {
    /// A fixed creation time for reproducible fields.
    public static let createdAt: UInt64 = 1_795_000_000

    /// Seals `files` from `sender` to `recipients`.
    public static func seal(
        _ files: [(String, [UInt8])], from sender: TestOrganisation, to recipients: [TestOrganisation],
        context: PackContext = PackContext(), bundleID: BundleID = .random(), hooks: ((inout BundleSealer) -> Void)? = nil
    ) throws -> (bytes: [UInt8], sealed: SealedBundle) {
        var sealer = BundleSealer(sender: sender.ods, recipients: recipients.map(\.recipient), context: context)
        hooks?(&sealer)
        let sink = MemorySink()
        let inputs = files.map { SealInput(name: $0.0, size: UInt64($0.1.count), source: MemorySource($0.1)) }
        let sealed = try sealer.seal(bundleID: bundleID, createdAt: createdAt, files: inputs, signingKey: sender.signing, to: sink)
        return (sink.bytes, sealed)
    }

    /// Opens `bytes` as `reader`, knowing `senders` (their signing keys by code and key id),
    /// in one pass, as gateways do (``OnePassOpener``).
    public static func open(
        _ bytes: [UInt8], as reader: TestOrganisation, knowing senders: [TestOrganisation],
        allowance: OnePassOpener.Allowance = .standard
    ) throws(FormatError) -> (files: [(name: String, bytes: [UInt8])], manifest: Manifest, envelope: VerifiedEnvelope) {
        let sink = CollectingSink()
        let opened = try OnePassOpener(reader: reader.ods, allowance: allowance).open(
            MemorySource(bytes), senderKey: signingKey(among: senders), decryptionKey: decryptionKey(of: reader), into: sink)
        return (sink.files, opened.manifest, opened.envelope)
    }

    /// Opens `bytes` as FORMAT.md §3.10 reads literally: the outer signature verified over the
    /// whole bundle first (``BundleVerifier``), then a second pass decrypts (``BundleOpener``).
    /// The reference the one-pass opener must agree with.
    public static func openInTwoPasses(
        _ bytes: [UInt8], as reader: TestOrganisation, knowing senders: [TestOrganisation]
    ) throws(FormatError) -> (files: [(name: String, bytes: [UInt8])], manifest: Manifest, envelope: VerifiedEnvelope) {
        let envelope = try BundleVerifier.verify(MemorySource(bytes), senderKey: signingKey(among: senders))
        let sink = CollectingSink()
        let manifest = try BundleOpener(reader: reader.ods).open(
            envelope, from: MemorySource(bytes), decryptionKey: decryptionKey(of: reader), into: sink)
        return (sink.files, manifest, envelope)
    }

    private static func signingKey(among senders: [TestOrganisation]) -> (BundleHeader) throws(FormatError) -> SigningPublicKey {
        { (header) throws(FormatError) -> SigningPublicKey in
            guard let sender = senders.first(where: { $0.ods == header.sender }),
                  KeyID(signing: sender.signing.publicKey) == header.senderKeyID
            else { throw .unknownSender("\(header.sender) with signing key \(header.senderKeyID) is not a known partner") }
            return sender.signing.publicKey
        }
    }

    private static func decryptionKey(of reader: TestOrganisation) -> (KeyID) throws -> AgreementSecretKey? {
        { id in
            guard id == KeyID(agreement: reader.encryption.publicKey) else { return nil }
            return try AgreementSecretKey(secret: reader.encryption.withSecretBytes { SecretBytes(copying: $0) })
        }
    }
}
