public import GatehouseCrypto

/// A bundle whose outer signature has been verified (FORMAT.md §3.10 steps 1–3). Nothing has
/// been decrypted yet.
public struct VerifiedEnvelope: Sendable {
    /// The parsed header.
    public let header: BundleHeader
    /// The exact header bytes.
    public let headerBytes: [UInt8]
    /// The sender's signing key that verified the outer signature.
    public let senderKey: SigningPublicKey
    /// SHA-256 of the exact bundle bytes (for the receipt).
    public let bundleSHA256: SHA256Digest
    /// Number of payload chunks.
    public let chunkCount: Int
    /// Total bundle length.
    public let length: UInt64
}

/// Pass 1 of opening: parses the header, finds the sender's key, checks the chunk framing and
/// verifies the outer signature over header and ciphertext, decrypting and inflating nothing.
public enum BundleVerifier {
    /// Reads only the header from the start of `source` (for `inspect` and routing).
    public static func readHeader(from source: any ByteSource) throws(FormatError) -> (header: BundleHeader, bytes: [UInt8]) {
        var buffer = try read(source, 12, what: "the header")
        while true {
            guard let (header, length) = try BundleHeader.parse(buffer[...]) else {
                // parse returns nil only before the declared length is available.
                let declared = Int(buffer[8]) << 24 | Int(buffer[9]) << 16 | Int(buffer[10]) << 8 | Int(buffer[11])
                buffer += try read(source, declared - buffer.count, what: "the header")
                continue
            }
            precondition(length == buffer.count)
            return (header, buffer)
        }
    }

    /// Verifies the outer signature of the bundle in `source`.
    ///
    /// - Parameter senderKey: returns the pinned signing key for the header's sender and key id,
    ///   or throws `unknownSender`.
    public static func verify(
        _ source: any ByteSource,
        senderKey: (BundleHeader) throws(FormatError) -> SigningPublicKey
    ) throws(FormatError) -> VerifiedEnvelope {
        let (header, headerBytes) = try readHeader(from: source)
        do {
            let key = try senderKey(header)
            return try verifyPayload(source, header: header, headerBytes: headerBytes, key: key)
        } catch {
            throw error.inBundle(header.bundleID.hex)
        }
    }

    private static func verifyPayload(_ source: any ByteSource, header: BundleHeader, headerBytes: [UInt8],
                                      key: SigningPublicKey) throws(FormatError) -> VerifiedEnvelope {
        let hasher = SHA256Hasher()
        hasher.update(headerBytes)
        var length = UInt64(headerBytes.count)
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 + PayloadLayout.fullChunkCiphertext, alignment: 16)
        defer { chunk.deallocate() }
        var chunks = 0
        while true {
            let frame = try ChunkFrame.read(from: source, into: chunk, index: chunks)
            hasher.update(UnsafeRawBufferPointer(rebasing: chunk[0..<(4 + frame.length)]))
            length += UInt64(4 + frame.length)
            chunks += 1
            if frame.isFinal { break }
        }
        return try checkSignature(source, header: header, headerBytes: headerBytes, key: key, hasher: hasher,
                                  chunks: chunks, length: length)
    }

    /// After the final chunk: reads the outer signature, refuses anything after it, and verifies
    /// it over the digest in `hasher` (header and every chunk with its frame).
    static func checkSignature(_ source: any ByteSource, header: BundleHeader, headerBytes: [UInt8], key: SigningPublicKey,
                               hasher: SHA256Hasher, chunks: Int, length: UInt64) throws(FormatError) -> VerifiedEnvelope {
        let signature = try read(source, SigningPublicKey.signatureLength, what: "the outer signature")
        var probe = [UInt8](repeating: 0, count: 4096)
        let extra: Int
        do { extra = try probe.withUnsafeMutableBytes { try source.readFully(into: $0) } } catch {
            throw .io("reading the bundle failed: \(error)")
        }
        guard extra == 0 else { throw .malformed("data follows the outer signature (\(extra)\(extra == 4096 ? "+" : "") bytes)") }
        let signedDigest = hasher.copy().finalize()
        guard SignatureContext.bundle.verify(signature, over: signedDigest, by: key) else {
            throw .authenticationFailed("outer signature does not verify against \(header.sender)'s signing key \(header.senderKeyID)")
        }
        hasher.update(signature)
        return VerifiedEnvelope(header: header, headerBytes: headerBytes, senderKey: key, bundleSHA256: hasher.finalize(),
                                chunkCount: chunks, length: length + UInt64(signature.count))
    }

    static func read(_ source: any ByteSource, _ count: Int, what: String) throws(FormatError) -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try source.readBytes(count) } catch { throw .io("reading the bundle failed: \(error)") }
        guard bytes.count == count else { throw .malformed("the bundle is truncated in \(what)") }
        return bytes
    }
}

/// One payload chunk's frame (FORMAT.md §3.4).
struct ChunkFrame {
    let length: Int
    let isFinal: Bool

    /// Reads a frame and its ciphertext into `buffer` (frame at 0…3, ciphertext after),
    /// enforcing the framing rules.
    static func read(from source: any ByteSource, into buffer: UnsafeMutableRawBufferPointer, index: Int) throws(FormatError) -> ChunkFrame {
        guard index < PayloadLayout.maxChunks else { throw .malformed("the payload has more than \(PayloadLayout.maxChunks) chunks") }
        let got: Int
        do { got = try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<4])) } catch {
            throw .io("reading the bundle failed: \(error)")
        }
        guard got == 4 else { throw .malformed("the bundle is truncated: it ends before the final chunk (after \(index) chunks)") }
        let word = UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let isFinal = word & PayloadLayout.finalFlag != 0
        let length = Int(word & ~PayloadLayout.finalFlag)
        if isFinal {
            // Never empty: the manifest always ends the final chunk (§3.5), so an empty final
            // chunk could only be a second encoding of the same payload.
            guard ((SecretStream.overhead + 1)...PayloadLayout.fullChunkCiphertext).contains(length) else {
                throw .malformed("final chunk \(index) has length \(length), outside \(SecretStream.overhead + 1)…\(PayloadLayout.fullChunkCiphertext)")
            }
        } else {
            guard length == PayloadLayout.fullChunkCiphertext else {
                throw .malformed("chunk \(index) is not final but has length \(length), not \(PayloadLayout.fullChunkCiphertext)")
            }
        }
        let body: Int
        do { body = try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[4..<(4 + length)])) } catch {
            throw .io("reading the bundle failed: \(error)")
        }
        guard body == length else { throw .malformed("the bundle is truncated inside chunk \(index)") }
        return ChunkFrame(length: length, isFinal: isFinal)
    }
}
