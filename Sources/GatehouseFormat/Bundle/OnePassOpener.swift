public import GatehouseCrypto

/// A source that can be read again from its start (a private working copy of a bundle).
public protocol RewindableByteSource: ByteSource {
    /// Goes back to the first byte.
    func rewindToStart() throws
}

/// Opens a bundle in one pass over its bytes (FORMAT.md §3.10, "Opening in one pass"): each chunk
/// is hashed for the outer signature and, once authenticated by its secretstream tag, decrypted
/// and parsed into the caller's private staging sink. Nothing is released before the outer
/// signature, the inner signature and every digest have verified, and the verdict is the one
/// the literal two-pass reading (``BundleVerifier`` then ``BundleOpener``) reaches:
///
/// - header, sender and framing failures are reported where they are found, as in pass 1;
/// - a failure while unwrapping, decrypting or parsing is only noted: decrypting stops, hashing
///   goes on to the end, and the note is reported only if the outer signature verifies (so a
///   forged or damaged bundle is always *authentication-failed*, never judged on its contents);
/// - before the signature has verified, the plaintext written may not exceed the ``Allowance``
///   (16 MiB, or 16 times the bundle bytes read): a small forged bundle can not make the gateway
///   inflate gigabytes into staging. Past it, parsing pauses (within 8 KiB of plaintext, whose
///   blocks inflate to at most a few MiB), hashing goes on, and once the signature has verified
///   the rest is decrypted in a second pass from the chunk after the pause.
public struct OnePassOpener {
    /// How much decrypted plaintext may reach the sink before the outer signature verifies.
    public struct Allowance: Sendable {
        /// Bytes always allowed.
        public var floor: UInt64
        /// Bytes allowed per bundle byte read so far.
        public var ratio: UInt64

        /// 16 MiB, or 16 times the bundle bytes read: records compress far less than that.
        public static let standard = Allowance(floor: 16 << 20, ratio: 16)

        /// An allowance of `floor` bytes plus `ratio` per bundle byte.
        public init(floor: UInt64, ratio: UInt64) {
            self.floor = floor
            self.ratio = ratio
        }
    }

    /// What one opening did.
    public struct Opened {
        /// The verified outer layer.
        public let envelope: VerifiedEnvelope
        /// The verified manifest.
        public let manifest: Manifest
        /// Chunks decrypted before the outer signature was checked (the rest, if any, after it).
        public let chunksBeforeSignature: Int
        /// Whether decrypting paused at the allowance and went on after the signature verified.
        public let paused: Bool
    }

    /// The organisation opening the bundle.
    public let reader: ODSCode
    /// The plaintext allowed before the outer signature verifies.
    public var allowance: Allowance

    /// An opener for `reader`.
    public init(reader: ODSCode, allowance: Allowance = .standard) {
        self.reader = reader
        self.allowance = allowance
    }

    /// Opens the bundle in `source` into `sink`.
    ///
    /// - Parameters:
    ///   - senderKey: the pinned signing key for the header's sender and key id, or throws
    ///     (`unknownSender`, `unknownKey`, …): FORMAT.md §3.10 step 2.
    ///   - decryptionKey: this organisation's X25519 secret key with the given id, or nil.
    public func open(
        _ source: any RewindableByteSource,
        senderKey: (BundleHeader) throws(FormatError) -> SigningPublicKey,
        decryptionKey: (KeyID) throws -> AgreementSecretKey?,
        into sink: any OpenedFileSink
    ) throws(FormatError) -> Opened {
        let (header, headerBytes) = try BundleVerifier.readHeader(from: source)
        do {
            let key = try senderKey(header)
            return try openPayload(source, header: header, headerBytes: headerBytes, key: key,
                                   decryptionKey: decryptionKey, sink: CountingSink(sink))
        } catch {
            throw error.inBundle(header.bundleID.hex)
        }
    }

    private func openPayload(_ source: any RewindableByteSource, header: BundleHeader, headerBytes: [UInt8],
                             key: SigningPublicKey, decryptionKey: (KeyID) throws -> AgreementSecretKey?,
                             sink: CountingSink) throws(FormatError) -> Opened {
        // A failure found while decrypting, reported only once the outer signature verifies.
        var noted: FormatError?
        var payload: PayloadDecryptor?
        do {
            let streamKey = try BundleOpener(reader: reader).unwrapStreamKey(header, decryptionKey: decryptionKey)
            payload = try PayloadDecryptor(streamKey: streamKey, header: header, headerBytes: headerBytes, sink: sink)
        } catch {
            noted = error
        }
        let hasher = SHA256Hasher()
        hasher.update(headerBytes)
        var length = UInt64(headerBytes.count)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 + PayloadLayout.fullChunkCiphertext, alignment: 16)
        defer { chunk.deallocate() }
        // Chunks decrypted so far; once paused, the rest waits for the signature.
        var chunks = 0, decrypted = 0, paused = false
        while true {
            let frame = try ChunkFrame.read(from: source, into: chunk, index: chunks)
            hasher.update(UnsafeRawBufferPointer(rebasing: chunk[0..<(4 + frame.length)]))
            length += UInt64(4 + frame.length)
            if noted == nil, !paused, let payload {
                let read = length
                do {
                    paused = !(try payload.take(UnsafeRawBufferPointer(rebasing: chunk[4..<(4 + frame.length)]),
                                                isFinal: frame.isFinal, index: chunks) { sink.bytes <= allowed(read) })
                    decrypted += 1
                } catch {
                    noted = error
                }
            }
            chunks += 1
            if frame.isFinal { break }
        }
        let envelope = try BundleVerifier.checkSignature(
            source, header: header, headerBytes: headerBytes, key: key, hasher: hasher, chunks: chunks, length: length)
        if let noted { throw noted }
        guard let payload else { throw .decryptionFailed("the content key was not unwrapped") }  // (noted is set then)
        if paused {
            try payload.resume()
            if decrypted < chunks { try resume(source, envelope: envelope, from: decrypted, payload: payload, buffer: chunk) }
        }
        let manifest = try payload.finish(envelope, reader: reader)
        return Opened(envelope: envelope, manifest: manifest, chunksBeforeSignature: decrypted, paused: paused)
    }

    private func allowed(_ read: UInt64) -> UInt64 {
        let (scaled, overflow) = read.multipliedReportingOverflow(by: allowance.ratio)
        return overflow ? .max : max(allowance.floor, scaled)
    }

    /// The second pass, past the allowance: the chunks from `first` on, read again from the
    /// private copy (its header compared with the verified one, as the two-pass opener does).
    private func resume(_ source: any RewindableByteSource, envelope: VerifiedEnvelope, from first: Int,
                        payload: PayloadDecryptor, buffer: UnsafeMutableRawBufferPointer) throws(FormatError) {
        do { try source.rewindToStart() } catch { throw .io("reading the bundle again failed: \(error)") }
        let headerAgain = try BundleVerifier.read(source, envelope.headerBytes.count, what: "the header")
        guard headerAgain == envelope.headerBytes else {
            throw .authenticationFailed("the bundle changed between verification and decryption")
        }
        for index in 0..<envelope.chunkCount {
            let frame = try ChunkFrame.read(from: source, into: buffer, index: index)
            guard index >= first else { continue }
            try payload.take(UnsafeRawBufferPointer(rebasing: buffer[4..<(4 + frame.length)]), isFinal: frame.isFinal, index: index)
        }
    }
}

/// Counts the plaintext bytes written through to a sink.
private final class CountingSink: OpenedFileSink {
    let inner: any OpenedFileSink
    private(set) var bytes: UInt64 = 0

    init(_ inner: any OpenedFileSink) { self.inner = inner }

    func fileTable(_ entries: [FileTableEntry]) throws { try inner.fileTable(entries) }
    func beginFile(_ entry: FileTableEntry, index: Int) throws { try inner.beginFile(entry, index: index) }
    func endFile() throws { try inner.endFile() }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        self.bytes += UInt64(bytes.count)
        try inner.write(bytes)
    }
}
