public import GatehouseCrypto

/// One file as the signed manifest describes it (FORMAT.md §3.6).
public struct ManifestFile: Hashable, Sendable {
    /// The name it is published under.
    public let name: String
    /// Its size in bytes.
    public let size: UInt64
    /// SHA-256 of its bytes, as `sha256sum` prints it.
    public let sha256: SHA256Digest

    /// A file entry.
    public init(name: String, size: UInt64, sha256: SHA256Digest) {
        self.name = name
        self.size = size
        self.sha256 = sha256
    }
}

/// The inner, signed description of a bundle (FORMAT.md §3.6). It travels inside the encryption
/// and holds everything patient-identifiable: names and the pack's context (subject, workflow,
/// NHS numbers).
public struct Manifest: Hashable, Sendable {
    /// `"GHM1"`.
    public static let magic: [UInt8] = Array("GHM1".utf8)
    /// Longest subject in UTF-8 bytes.
    public static let maxSubjectLength = PackContext.maxSubjectLength

    /// Kind of bundle.
    public let kind: BundleKind
    /// The bundle id.
    public let bundleID: BundleID
    /// Seconds since the Unix epoch.
    public let createdAt: UInt64
    /// The sending organisation.
    public let sender: ODSCode
    /// Key id of the key that made the inner signature.
    public let signerKeyID: KeyID
    /// Every recipient organisation, in header order.
    public let recipients: [ODSCode]
    /// What the pack is about: subject, workflow, NHS numbers.
    public let context: PackContext
    /// The files, in stream order.
    public let files: [ManifestFile]
    /// The inner signature.
    public let signature: [UInt8]

    /// The exact bytes that were signed and transmitted (signature included).
    public let encoded: [UInt8]

    /// Builds and signs a manifest with `signingKey`.
    ///
    /// Throws `invalidInput` when the context, a name or an NHS number breaks the rules of
    /// FORMAT.md §3.6–3.8.
    public static func signed(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode,
                              recipients: [ODSCode], context: PackContext = PackContext(), files: [ManifestFile],
                              signingKey: borrowing SigningSecretKey) throws(FormatError) -> Manifest {
        try checkText(context, names: files.map(\.name))
        return unchecked(kind: kind, bundleID: bundleID, createdAt: createdAt, sender: sender, recipients: recipients,
                         context: context, files: files, signingKey: signingKey)
    }

    /// The rules a manifest's text follows (FORMAT.md §3.6–3.8): the context's (a subject of at
    /// most 1024 bytes of readable text, distinct valid NHS numbers), and valid names that differ
    /// after case folding. (A ``Workflow`` is valid by construction.)
    static func checkText(_ context: PackContext, names: [String]) throws(FormatError) {
        try context.check()
        for name in names { try FileNameRule.validate(name) }
        try FileNameRule.checkDistinct(names)
    }

    /// Free text for staff (may be empty).
    public var subject: String { context.subject }

    /// Builds and signs a manifest without checking its text: for tests that make the bundles a
    /// careless sealer would, which openers must refuse.
    package static func unchecked(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode,
                                  recipients: [ODSCode], context: PackContext = PackContext(), files: [ManifestFile],
                                  signingKey: borrowing SigningSecretKey) -> Manifest {
        let signerKeyID = KeyID(signing: signingKey.publicKey)
        let body = encodeBody(kind: kind, bundleID: bundleID, createdAt: createdAt, sender: sender, signerKeyID: signerKeyID,
                              recipients: recipients, context: context, files: files)
        let signature = SignatureContext.manifest.sign(SHA256Hasher.hash(body), with: signingKey)
        return Manifest(kind: kind, bundleID: bundleID, createdAt: createdAt, sender: sender, signerKeyID: signerKeyID,
                        recipients: recipients, context: context, files: files, signature: signature,
                        encoded: body + signature)
    }

    private init(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode, signerKeyID: KeyID,
                 recipients: [ODSCode], context: PackContext, files: [ManifestFile], signature: [UInt8],
                 encoded: [UInt8]) {
        self.kind = kind
        self.bundleID = bundleID
        self.createdAt = createdAt
        self.sender = sender
        self.signerKeyID = signerKeyID
        self.recipients = recipients
        self.context = context
        self.files = files
        self.signature = signature
        self.encoded = encoded
    }

    private static func encodeBody(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode, signerKeyID: KeyID,
                                   recipients: [ODSCode], context: PackContext, files: [ManifestFile]) -> [UInt8] {
        var b = ByteBuilder(capacity: 256 + files.count * 80)
        b.raw(magic)
        b.u8(kind.rawValue)
        b.raw(bundleID.bytes)
        b.u64(createdAt)
        b.ods(sender)
        b.raw(signerKeyID.bytes)
        b.u8(UInt8(recipients.count))
        for recipient in recipients { b.ods(recipient) }
        b.string16(context.subject)
        b.bytes8(Array(context.workflow.value.utf8))
        b.u8(UInt8(clamping: context.nhsNumbers.count))
        for number in context.nhsNumbers { b.raw(Array(number.utf8)) }
        b.u32(UInt32(files.count))
        for file in files {
            b.string16(file.name)
            b.u64(file.size)
            b.raw(file.sha256.bytes)
        }
        return b.bytes
    }

    /// Verifies the inner signature with the sender's signing key.
    public func isSigned(by key: SigningPublicKey) -> Bool {
        let body = Array(encoded.dropLast(SigningPublicKey.signatureLength))
        return SignatureContext.manifest.verify(signature, over: SHA256Hasher.hash(body), by: key)
    }

    /// Parses a complete manifest: exactly `bytes`, nothing more (FORMAT.md §3.6).
    /// Checks structure only; the opener checks its fields against the header and the signature.
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> Manifest {
        var c = ByteCursor(bytes)
        let short = FormatError.malformed("manifest ends early")
        guard c.raw(4) == magic else { throw .malformed("manifest does not start with GHM1") }
        guard let kindByte = c.u8() else { throw short }
        guard let kind = BundleKind(rawValue: kindByte) else { throw .malformed("manifest kind \(kindByte) is not defined") }
        guard let id = c.raw(BundleID.length), let createdAt = c.u64(), let sender = try c.ods("manifest sender"),
              let signer = c.raw(KeyID.length), let recipientCount = c.u8() else { throw short }
        guard (1...BundleHeader.maxRecipients).contains(Int(recipientCount)) else {
            throw .malformed("manifest recipient count \(recipientCount) is outside 1…\(BundleHeader.maxRecipients)")
        }
        var recipients: [ODSCode] = []
        for index in 0..<Int(recipientCount) {
            guard let r = try c.ods("manifest recipient \(index + 1)") else { throw short }
            recipients.append(r)
        }
        let context = try parseContext(&c)
        guard let fileCount = c.u32() else { throw short }
        guard (1...UInt32(PayloadLayout.maxFiles)).contains(fileCount) else {
            throw .malformed("manifest lists \(fileCount) files; a bundle holds 1 to \(PayloadLayout.maxFiles)")
        }
        var files: [ManifestFile] = []
        for index in 0..<Int(fileCount) {
            guard let name = try c.string16("manifest file \(index + 1) name", maxLength: FileNameRule.maxLength),
                  let size = c.u64(), let digest = c.raw(32) else { throw short }
            do { try FileNameRule.validate(name) } catch { throw .malformed("manifest: \(error.detail)") }
            files.append(ManifestFile(name: name, size: size, sha256: SHA256Digest(bytes: digest)!))
        }
        do { try FileNameRule.checkDistinct(files.map(\.name)) } catch { throw .malformed("manifest: \(error.detail)") }
        guard let signature = c.raw(SigningPublicKey.signatureLength) else { throw short }
        guard c.remaining == 0 else { throw .malformed("manifest has \(c.remaining) bytes after its signature") }
        return Manifest(kind: kind, bundleID: try BundleID(bytes: id), createdAt: createdAt, sender: sender,
                        signerKeyID: try KeyID(bytes: signer), recipients: recipients, context: context, files: files,
                        signature: signature, encoded: bytes)
    }

    /// The subject, the workflow and the NHS numbers (FORMAT.md §3.6), each checked as it is read.
    private static func parseContext(_ c: inout ByteCursor) throws(FormatError) -> PackContext {
        let short = FormatError.malformed("manifest ends early")
        guard let subject = try c.string16("subject", maxLength: maxSubjectLength) else { throw short }
        do { try ReadableText.check(subject, "the subject", quoting: false) } catch {
            throw .malformed("manifest: \(error.detail)")
        }
        guard let workflowBytes = try c.bytes8("workflow", allowedLengths: Set(1...Workflow.maxLength)) else {
            throw short
        }
        let workflow: Workflow
        do { workflow = try Workflow(String(decoding: workflowBytes, as: UTF8.self)) } catch {
            throw .malformed("manifest: \(error.detail)")
        }
        guard let count = c.u8() else { throw short }
        guard Int(count) <= PackContext.maxNHSNumbers else {
            throw .malformed("manifest names \(count) NHS numbers; at most \(PackContext.maxNHSNumbers)")
        }
        var numbers: [String] = []
        for _ in 0..<Int(count) {
            guard let digits = c.raw(10) else { throw short }
            numbers.append(String(decoding: digits, as: UTF8.self))
        }
        let context = PackContext(subject: subject, workflow: workflow, nhsNumbers: numbers)
        do { try context.check() } catch { throw .malformed("manifest: \(error.detail)") }
        return context
    }
}
