public import GatehouseCrypto

/// Pass 2 of opening (FORMAT.md §3.10 steps 4–7): unwraps the content key, decrypts, parses and
/// inflates within declared sizes, and checks the manifest. Runs only on a ``VerifiedEnvelope``.
///
/// The literal reading of §3.10 (verify everything, then decrypt). Gateways open with the
/// ``OnePassOpener``, which must reach the same verdict for every input (its tests compare them).
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

        let payload = try PayloadDecryptor(streamKey: streamKey, header: header, headerBytes: envelope.headerBytes, sink: sink)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 + PayloadLayout.fullChunkCiphertext, alignment: 16)
        defer { chunk.deallocate() }
        for index in 0..<envelope.chunkCount {
            let frame = try ChunkFrame.read(from: source, into: chunk, index: index)
            try payload.take(UnsafeRawBufferPointer(rebasing: chunk[4..<(4 + frame.length)]), isFinal: frame.isFinal, index: index)
        }
        return try payload.finish(envelope, reader: reader)
    }

    func unwrapStreamKey(_ header: BundleHeader, decryptionKey: (KeyID) throws -> AgreementSecretKey?) throws(FormatError) -> SecretBytes {
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

    func check(_ manifest: Manifest, envelope: VerifiedEnvelope, entries: [FileTableEntry],
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
