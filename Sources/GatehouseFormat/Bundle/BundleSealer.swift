public import GatehouseCrypto

/// A file to seal: its published name, its size, and where its bytes come from.
public struct SealInput {
    /// The name recipients will see (FORMAT.md §3.7).
    public let name: String
    /// The exact number of bytes `source` will deliver.
    public let size: UInt64
    /// The file's bytes.
    public let source: any ByteSource

    /// A file to seal.
    public init(name: String, size: UInt64, source: any ByteSource) {
        self.name = name
        self.size = size
        self.source = source
    }
}

/// A recipient organisation and its current encryption key.
public struct SealRecipient: Sendable, Hashable {
    /// The organisation.
    public let org: ODSCode
    /// Its X25519 encryption key.
    public let key: AgreementPublicKey

    /// A recipient.
    public init(org: ODSCode, key: AgreementPublicKey) {
        self.org = org
        self.key = key
    }
}

/// What sealing produced.
public struct SealedBundle: Sendable {
    /// The cleartext header.
    public let header: BundleHeader
    /// The signed manifest (inside the encryption).
    public let manifest: Manifest
    /// SHA-256 of the exact bundle bytes, which the recipient's receipt must name.
    public let bundleSHA256: SHA256Digest
    /// Total length of the bundle in bytes.
    public let length: UInt64
}

/// Hooks that let tests build deliberately bad bundles. Never set outside tests.
package struct SealerTestHooks {
    /// Replaces the encoded, signed manifest.
    package var manifest: (([UInt8]) -> [UInt8])?
    /// Replaces a block's method, declared raw length and stored bytes.
    package var block: ((BlockMethod, UInt32, [UInt8]) -> (BlockMethod, UInt32, [UInt8]))?
    /// Skips the sealer's checks of names and context (to test the opener's).
    package var skipTextChecks = false

    package init() {}
}

/// Seals files into a bundle for one or more recipients, streaming: memory use does not depend
/// on file sizes (FORMAT.md §3).
public struct BundleSealer {
    /// The sending organisation.
    public let sender: ODSCode
    /// The recipients, in stanza order.
    public let recipients: [SealRecipient]
    /// What the pack is about (subject, workflow, NHS numbers), carried in the manifest.
    public let context: PackContext
    /// zlib level for compressible blocks. Level 1 keeps sealing close to disk speed.
    public let compressionLevel: Int32
    /// The signed directory checkpoint the sender trusts, carried in the header (FORMAT.md §3.1,
    /// extension 1) so that the recipient can compare it with its own; nil for none.
    public var directoryCheckpoint: [UInt8]?
    package var hooks = SealerTestHooks()

    /// A sealer for `recipients`.
    public init(sender: ODSCode, recipients: [SealRecipient], context: PackContext = PackContext(),
                compressionLevel: Int32 = 1) {
        self.sender = sender
        self.recipients = recipients
        self.context = context
        self.compressionLevel = compressionLevel
    }

    /// Seals `files` into `sink` and returns what was written.
    ///
    /// `bundleID` is assigned by the caller before any side effect so that a retried seal
    /// keeps its identity. Each source must deliver exactly its declared size.
    public func seal(bundleID: BundleID, createdAt: UInt64, files: [SealInput],
                     signingKey: borrowing SigningSecretKey, to sink: any ByteSink) throws(FormatError) -> SealedBundle {
        do {
            return try sealUnattributed(bundleID: bundleID, createdAt: createdAt, files: files, signingKey: signingKey, sink: sink)
        } catch {
            throw error.inBundle(bundleID.hex)
        }
    }

    private func sealUnattributed(bundleID: BundleID, createdAt: UInt64, files: [SealInput],
                                  signingKey: borrowing SigningSecretKey, sink: any ByteSink) throws(FormatError) -> SealedBundle {
        try checkInputs(files)

        // A fresh content key per bundle; the payload key and the commitment are derived
        // from it with distinct labels (FORMAT.md §3.3).
        let contentKey = SecretBytes.random(count: 32)
        let streamKey = StanzaCrypto.streamKey(contentKey: contentKey, bundleID: bundleID)
        let commitment = StanzaCrypto.commitment(contentKey: contentKey, bundleID: bundleID)
        // The stream key is always 32 bytes, so starting the stream cannot fail.
        let encryptor = try! SecretStreamEncryptor(key: streamKey)

        var stanzas: [RecipientStanza] = []
        for recipient in recipients {
            stanzas.append(try Self.stanza(for: recipient, contentKey: contentKey, bundleID: bundleID))
        }
        let header = try BundleHeader(kind: .records, bundleID: bundleID, createdAt: createdAt, sender: sender,
                                      senderKeyID: KeyID(signing: signingKey.publicKey), commitment: commitment,
                                      streamHeader: encryptor.header, stanzas: stanzas,
                                      directoryCheckpoint: directoryCheckpoint)
        let headerBytes = header.encoded()
        let hasher = SHA256Hasher()
        hasher.update(headerBytes)
        do { try sink.write(headerBytes) } catch { throw .io("writing the bundle failed: \(error)") }

        let payload = PayloadEncryptor(encryptor: encryptor, headerHash: SHA256Hasher.hash(headerBytes), sink: sink, hasher: hasher)
        let writer = PayloadWriterThread(payload: payload)
        let manifest: Manifest
        do {
            try writer.append(FileTable.encode(files.map { FileTableEntry(name: $0.name, size: $0.size) }))
            let blockSize = UInt64(PayloadLayout.blockSize)
            let blocks = files.reduce(0) { $0 + Int(min(($1.size + blockSize - 1) / blockSize, 1 << 20)) }
            let longest = Int(min(files.map(\.size).max() ?? 0, blockSize))
            let reader = BlockReader(level: compressionLevel, hooks: hooks, blocks: blocks, longest: longest)
            let digests = try reader.seal(files, into: writer)
            let manifestFiles = zip(files, digests).map { file, digest in
                ManifestFile(name: file.name, size: file.size, sha256: digest)
            }
            // Inner signature: the sender signs the manifest, which names every recipient, inside
            // the encryption (sign-encrypt-sign, FORMAT.md §3.6).
            manifest = hooks.skipTextChecks
                ? Manifest.unchecked(kind: .records, bundleID: bundleID, createdAt: createdAt, sender: sender,
                                     recipients: header.recipients, context: context, files: manifestFiles,
                                     signingKey: signingKey)
                : try Manifest.signed(kind: .records, bundleID: bundleID, createdAt: createdAt, sender: sender,
                                      recipients: header.recipients, context: context, files: manifestFiles,
                                      signingKey: signingKey)
            let manifestBytes = hooks.manifest?(manifest.encoded) ?? manifest.encoded
            var length = ByteBuilder(capacity: 4)
            length.u32(UInt32(manifestBytes.count))
            try writer.append(length.bytes + manifestBytes)
            try writer.drain()
        } catch {
            writer.abandon()
            throw error
        }
        try payload.finish()

        // Outer signature over header and ciphertext; the same pass also yields the digest of
        // the exact bundle bytes, which the receipt must match.
        let signedDigest = hasher.copy().finalize()
        let signature = SignatureContext.bundle.sign(signedDigest, with: signingKey)
        hasher.update(signature)
        do { try sink.write(signature) } catch { throw .io("writing the bundle failed: \(error)") }
        return SealedBundle(header: header, manifest: manifest, bundleSHA256: hasher.finalize(),
                            length: UInt64(headerBytes.count) + payload.bytesWritten + UInt64(signature.count))
    }

    private func checkInputs(_ files: [SealInput]) throws(FormatError) {
        guard (1...PayloadLayout.maxFiles).contains(files.count) else {
            throw .invalidInput("a bundle holds 1 to \(PayloadLayout.maxFiles) files, not \(files.count)")
        }
        // Names and the context are checked before a byte is written (the manifest checks them
        // again once the digests are known).
        if !hooks.skipTextChecks { try Manifest.checkText(context, names: files.map(\.name)) }
        var total: UInt64 = 0
        for file in files {
            guard file.size <= PayloadLayout.maxTotalSize - total else {
                throw .invalidInput("the files add up to more than \(PayloadLayout.maxTotalSize) bytes")
            }
            total += file.size
        }
        guard (1...BundleHeader.maxRecipients).contains(recipients.count) else {
            throw .invalidInput("a bundle has 1 to \(BundleHeader.maxRecipients) recipients, not \(recipients.count)")
        }
    }

    private static func stanza(for recipient: SealRecipient, contentKey: borrowing SecretBytes, bundleID: BundleID) throws(FormatError) -> RecipientStanza {
        // A fresh ephemeral key per recipient per bundle: the wrap key is single-use, which is
        // what makes the zero nonce safe (FORMAT.md §3.2).
        let ephemeral = AgreementSecretKey.generate()
        let shared: SecretBytes
        do { shared = try ephemeral.sharedSecret(with: recipient.key) } catch {
            throw .invalidInput("\(recipient.org)'s encryption key is unusable: \(error)")
        }
        let keyID = KeyID(agreement: recipient.key)
        let wrapKey = StanzaCrypto.wrapKey(shared: shared, ephemeral: ephemeral.publicKey.bytes, recipient: recipient.key.bytes, bundleID: bundleID)
        let ad = StanzaCrypto.associatedData(bundleID: bundleID, recipient: recipient.org, keyID: keyID)
        let wrapped = KeyWrap.wrap(contentKey, with: wrapKey, associatedData: ad)
        return RecipientStanza(recipient: recipient.org, keyID: keyID, ephemeral: ephemeral.publicKey.bytes, wrappedKey: wrapped)
    }
}

/// The per-stanza derivations shared by the sealer and the opener (FORMAT.md §3.2).
/// The derivations the sealer and the opener share (FORMAT.md §3.2, §3.3).
enum StanzaCrypto {
    /// The secretstream key for the payload.
    static func streamKey(contentKey: borrowing SecretBytes, bundleID: BundleID) -> SecretBytes {
        KeyedHash.deriveKey(from: contentKey, parts: [Array("gatehouse/v1/payload\0".utf8) + bundleID.bytes])
    }

    /// The key commitment carried in the header.
    static func commitment(contentKey: borrowing SecretBytes, bundleID: BundleID) -> [UInt8] {
        KeyedHash.commitment(to: contentKey, parts: [Array("gatehouse/v1/commit\0".utf8) + bundleID.bytes])
    }

    static func wrapKey(shared: borrowing SecretBytes, ephemeral: [UInt8], recipient: [UInt8], bundleID: BundleID) -> SecretBytes {
        KeyedHash.deriveKey(from: shared, parts: [Array("gatehouse/v1/wrap\0".utf8), ephemeral, recipient, bundleID.bytes])
    }

    static func associatedData(bundleID: BundleID, recipient: ODSCode, keyID: KeyID) -> [UInt8] {
        var b = ByteBuilder(capacity: 64)
        b.raw(Array("gatehouse/v1/stanza\0".utf8))
        b.raw(bundleID.bytes)
        b.ods(recipient)
        b.raw(keyID.bytes)
        return b.bytes
    }
}
