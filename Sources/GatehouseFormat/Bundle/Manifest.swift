public import GatehouseCrypto

/// One file as the signed manifest describes it (FORMAT.md §3.6).
public struct ManifestFile: Hashable, Sendable {
    /// The name it is published under.
    public let name: String
    /// Its size in bytes.
    public let size: UInt64
    /// SHA-256 of its bytes, as `sha256sum` prints it.
    public let sha256: SHA256Digest
    /// The patient's NHS number, when the sender gave one.
    public let nhsNumber: String?

    /// A file entry.
    public init(name: String, size: UInt64, sha256: SHA256Digest, nhsNumber: String?) {
        self.name = name
        self.size = size
        self.sha256 = sha256
        self.nhsNumber = nhsNumber
    }
}

/// The inner, signed description of a bundle (FORMAT.md §3.6). It travels inside the encryption
/// and holds everything patient-identifiable: names, NHS numbers, the subject.
public struct Manifest: Hashable, Sendable {
    /// `"GHM1"`.
    public static let magic: [UInt8] = Array("GHM1".utf8)
    /// Longest subject in UTF-8 bytes.
    public static let maxSubjectLength = 1024

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
    /// Free text for staff (may be empty).
    public let subject: String
    /// The files, in stream order.
    public let files: [ManifestFile]
    /// The inner signature.
    public let signature: [UInt8]

    /// The exact bytes that were signed and transmitted (signature included).
    public let encoded: [UInt8]

    /// Builds and signs a manifest with `signingKey`.
    ///
    /// Throws `invalidInput` when the subject, a name or an NHS number breaks the rules of
    /// FORMAT.md §3.6–3.8.
    public static func signed(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode,
                              recipients: [ODSCode], subject: String, files: [ManifestFile],
                              signingKey: borrowing SigningSecretKey) throws(FormatError) -> Manifest {
        try checkText(subject: subject, names: files.map(\.name), nhsNumbers: files.map(\.nhsNumber))
        return unchecked(kind: kind, bundleID: bundleID, createdAt: createdAt, sender: sender, recipients: recipients,
                         subject: subject, files: files, signingKey: signingKey)
    }

    /// The rules a manifest's text follows (FORMAT.md §3.6, §3.7): a subject of at most 1024
    /// bytes of readable text, valid names that differ after case folding, valid NHS numbers.
    static func checkText(subject: String, names: [String], nhsNumbers: [String?]) throws(FormatError) {
        guard subject.utf8.count <= maxSubjectLength else {
            throw .invalidInput("the subject is longer than \(maxSubjectLength) bytes")
        }
        try ReadableText.check(subject, "the subject", quoting: false)
        for name in names { try FileNameRule.validate(name) }
        try FileNameRule.checkDistinct(names)
        for case let nhs? in nhsNumbers where !NHSNumber.isValid(nhs) {
            throw .invalidInput("\(nhs) is not a valid NHS number (ten digits with a modulus-11 check digit)")
        }
    }

    /// Builds and signs a manifest without checking its text: for tests that make the bundles a
    /// careless sealer would, which openers must refuse.
    package static func unchecked(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode,
                                  recipients: [ODSCode], subject: String, files: [ManifestFile],
                                  signingKey: borrowing SigningSecretKey) -> Manifest {
        let signerKeyID = KeyID(signing: signingKey.publicKey)
        let body = encodeBody(kind: kind, bundleID: bundleID, createdAt: createdAt, sender: sender, signerKeyID: signerKeyID,
                              recipients: recipients, subject: subject, files: files)
        let signature = SignatureContext.manifest.sign(SHA256Hasher.hash(body), with: signingKey)
        return Manifest(kind: kind, bundleID: bundleID, createdAt: createdAt, sender: sender, signerKeyID: signerKeyID,
                        recipients: recipients, subject: subject, files: files, signature: signature, encoded: body + signature)
    }

    private init(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode, signerKeyID: KeyID,
                 recipients: [ODSCode], subject: String, files: [ManifestFile], signature: [UInt8], encoded: [UInt8]) {
        self.kind = kind
        self.bundleID = bundleID
        self.createdAt = createdAt
        self.sender = sender
        self.signerKeyID = signerKeyID
        self.recipients = recipients
        self.subject = subject
        self.files = files
        self.signature = signature
        self.encoded = encoded
    }


    private static func encodeBody(kind: BundleKind, bundleID: BundleID, createdAt: UInt64, sender: ODSCode, signerKeyID: KeyID,
                                   recipients: [ODSCode], subject: String, files: [ManifestFile]) -> [UInt8] {
        var b = ByteBuilder(capacity: 256 + files.count * 80)
        b.raw(magic)
        b.u8(kind.rawValue)
        b.raw(bundleID.bytes)
        b.u64(createdAt)
        b.ods(sender)
        b.raw(signerKeyID.bytes)
        b.u8(UInt8(recipients.count))
        for recipient in recipients { b.ods(recipient) }
        b.string16(subject)
        b.u32(UInt32(files.count))
        for file in files {
            b.string16(file.name)
            b.u64(file.size)
            b.raw(file.sha256.bytes)
            b.bytes8(Array((file.nhsNumber ?? "").utf8))
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
        guard let subject = try c.string16("subject", maxLength: maxSubjectLength) else { throw short }
        do { try ReadableText.check(subject, "the subject", quoting: false) } catch { throw .malformed("manifest: \(error.detail)") }
        guard let fileCount = c.u32() else { throw short }
        guard (1...UInt32(PayloadLayout.maxFiles)).contains(fileCount) else {
            throw .malformed("manifest lists \(fileCount) files; a bundle holds 1 to \(PayloadLayout.maxFiles)")
        }
        var files: [ManifestFile] = []
        for index in 0..<Int(fileCount) {
            guard let name = try c.string16("manifest file \(index + 1) name", maxLength: FileNameRule.maxLength),
                  let size = c.u64(), let digest = c.raw(32),
                  let nhs = try c.bytes8("NHS number", allowedLengths: [0, 10]) else { throw short }
            do { try FileNameRule.validate(name) } catch { throw .malformed("manifest: \(error.detail)") }
            let nhsText = String(decoding: nhs, as: UTF8.self)
            guard nhs.isEmpty || NHSNumber.isValid(nhsText) else { throw .malformed("manifest file \(index + 1) has an invalid NHS number") }
            files.append(ManifestFile(name: name, size: size, sha256: SHA256Digest(bytes: digest)!, nhsNumber: nhs.isEmpty ? nil : nhsText))
        }
        do { try FileNameRule.checkDistinct(files.map(\.name)) } catch { throw .malformed("manifest: \(error.detail)") }
        guard let signature = c.raw(SigningPublicKey.signatureLength) else { throw short }
        guard c.remaining == 0 else { throw .malformed("manifest has \(c.remaining) bytes after its signature") }
        return Manifest(kind: kind, bundleID: try BundleID(bytes: id), createdAt: createdAt, sender: sender,
                        signerKeyID: try KeyID(bytes: signer), recipients: recipients, subject: subject, files: files,
                        signature: signature, encoded: bytes)
    }
}
