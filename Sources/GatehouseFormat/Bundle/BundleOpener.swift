public import GatehouseCrypto

/// Pass 2 of opening (FORMAT.md §3.10 steps 4–7): unwraps the content key, decrypts, parses and
/// inflates within declared sizes, and checks the manifest. Runs only on a ``VerifiedEnvelope``.
///
/// Files go to an ``OpenedFileSink`` as they are decrypted; the caller must treat them as
/// unreleased until this returns, and discard them if it throws.
public struct BundleOpener {
    /// The organisation opening the bundle.
    public let reader: ODSCode

    /// An opener for `reader`.
    public init(reader: ODSCode) { self.reader = reader }

    /// Decrypts the bundle in `source` (read again from its start) into `sink` and returns the
    /// verified manifest.
    ///
    /// - Parameter decryptionKey: this organisation's X25519 secret key with the given id, or nil.
    public func open(
        _ envelope: VerifiedEnvelope,
        from source: any ByteSource,
        decryptionKey: (KeyID) throws -> AgreementSecretKey?,
        into sink: any OpenedFileSink
    ) throws(FormatError) -> Manifest {
        do {
            return try openUnattributed(envelope, source: source, decryptionKey: decryptionKey, sink: sink)
        } catch {
            throw error.inBundle(envelope.header.bundleID.hex)
        }
    }

    private func openUnattributed(_ envelope: VerifiedEnvelope, source: any ByteSource,
                                  decryptionKey: (KeyID) throws -> AgreementSecretKey?,
                                  sink: any OpenedFileSink) throws(FormatError) -> Manifest {
        let header = envelope.header
        let streamKey = try unwrapStreamKey(header, decryptionKey: decryptionKey)

        // The second pass must read the bytes the first pass verified.
        let headerAgain = try BundleVerifier.read(source, envelope.headerBytes.count, what: "the header")
        guard headerAgain == envelope.headerBytes else { throw .authenticationFailed("the bundle changed between verification and decryption") }

        let decryptor = try Self.decryptor(streamKey, header: header.streamHeader)
        let parser = PlaintextStreamParser(sink: sink)
        let headerHash = SHA256Hasher.hash(envelope.headerBytes)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 + PayloadLayout.fullChunkCiphertext, alignment: 16)
        let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: PayloadLayout.chunkSize, alignment: 16)
        defer {
            chunk.deallocate()
            wipe(plain)
            plain.deallocate()
        }
        for index in 0..<envelope.chunkCount {
            // The manifest ends the final chunk (FORMAT.md §3.5): nothing, not even an empty
            // chunk, may follow it, so each payload has exactly one encoding.
            guard !parser.isComplete else { throw .malformed("payload chunk \(index) follows the end of the manifest") }
            let frame = try ChunkFrame.read(from: source, into: chunk, index: index)
            let result: (count: Int, isFinal: Bool)
            do {
                result = try headerHash.bytes.withUnsafeBytes { ad in
                    try decryptor.pull(UnsafeRawBufferPointer(rebasing: chunk[4..<(4 + frame.length)]), additionalData: ad, into: plain)
                }
            } catch {
                throw .decryptionFailed("payload chunk \(index) does not decrypt")
            }
            guard result.isFinal == frame.isFinal else {
                throw .decryptionFailed("payload chunk \(index)'s tag disagrees with its frame")
            }
            try parser.feed(UnsafeRawBufferPointer(rebasing: plain[0..<result.count]))
        }
        guard parser.isComplete, let manifestBytes = parser.manifestBytes else {
            throw .malformed("the payload ends \(parser.position)")
        }
        let manifest = try Manifest.parse(manifestBytes)
        try check(manifest, envelope: envelope, entries: parser.entries, digests: parser.digests)
        return manifest
    }

    private static func decryptor(_ key: borrowing SecretBytes, header: [UInt8]) throws(FormatError) -> SecretStreamDecryptor {
        do { return try SecretStreamDecryptor(key: key, header: header) } catch {
            throw .decryptionFailed("the payload stream header was refused")
        }
    }

    private func unwrapStreamKey(_ header: BundleHeader, decryptionKey: (KeyID) throws -> AgreementSecretKey?) throws(FormatError) -> SecretBytes {
        guard let stanza = header.stanzas.first(where: { $0.recipient == reader }) else {
            let named = header.recipients.map(\.value).joined(separator: ", ")
            throw .notARecipient("the bundle is addressed to \(named), not to \(reader)")
        }
        let found: AgreementSecretKey?
        do { found = try decryptionKey(stanza.keyID) } catch let error as FormatError { throw error } catch {
            throw .io("loading the decryption key \(stanza.keyID) failed: \(error)")
        }
        guard let key = found else {
            throw .notARecipient("the bundle is sealed to \(reader)'s encryption key \(stanza.keyID), which this gateway does not hold")
        }
        let bundleID = header.bundleID
        let contentKey: SecretBytes
        do {
            let ephemeral = try AgreementPublicKey(bytes: stanza.ephemeral)
            let shared = try key.sharedSecret(with: ephemeral)
            let wrapKey = StanzaCrypto.wrapKey(shared: shared, ephemeral: stanza.ephemeral, recipient: key.publicKey.bytes, bundleID: bundleID)
            let ad = StanzaCrypto.associatedData(bundleID: bundleID, recipient: reader, keyID: stanza.keyID)
            contentKey = try KeyWrap.unwrap(stanza.wrappedKey, with: wrapKey, associatedData: ad)
        } catch {
            throw .decryptionFailed("the content key for \(reader) does not unwrap")
        }
        // Key commitment: every recipient must recover the same key, hence the same plaintext.
        guard constantTimeEqual(StanzaCrypto.commitment(contentKey: contentKey, bundleID: bundleID), header.commitment) else {
            throw .decryptionFailed("the content key does not match the header's key commitment")
        }
        return StanzaCrypto.streamKey(contentKey: contentKey, bundleID: bundleID)
    }

    private func check(_ manifest: Manifest, envelope: VerifiedEnvelope, entries: [FileTableEntry],
                       digests: [SHA256Digest]) throws(FormatError) {
        let header = envelope.header
        // Sign-encrypt-sign: the inner signer must be the outer signer, and this reader must be
        // one of the recipients the sender itself named, or the bundle was forwarded.
        guard manifest.sender == header.sender, manifest.signerKeyID == header.senderKeyID else {
            throw .integrityCheckFailed("the manifest was signed by \(manifest.sender) (key \(manifest.signerKeyID)) but the bundle by \(header.sender) (key \(header.senderKeyID)): a forwarded bundle")
        }
        guard manifest.recipients.contains(reader) else {
            throw .integrityCheckFailed("\(manifest.sender) did not address this bundle to \(reader): a forwarded bundle")
        }
        guard manifest.recipients == header.recipients else {
            throw .integrityCheckFailed("the manifest's recipients differ from the header's")
        }
        guard manifest.bundleID == header.bundleID, manifest.kind == header.kind, manifest.createdAt == header.createdAt else {
            throw .integrityCheckFailed("the manifest's bundle id, kind or time differs from the header's")
        }
        guard manifest.isSigned(by: envelope.senderKey) else {
            throw .integrityCheckFailed("the inner signature does not verify against \(header.sender)'s signing key \(header.senderKeyID)")
        }
        guard manifest.files.count == entries.count,
              zip(manifest.files, entries).allSatisfy({ Array($0.name.utf8) == Array($1.name.utf8) && $0.size == $1.size })
        else {
            throw .integrityCheckFailed("the manifest's file names or sizes differ from the file table")
        }
        for (file, digest) in zip(manifest.files, digests) where !file.sha256.constantTimeEquals(digest) {
            throw .integrityCheckFailed("\(file.name.debugDescription) has SHA-256 \(digest), the manifest says \(file.sha256)")
        }
    }
}
