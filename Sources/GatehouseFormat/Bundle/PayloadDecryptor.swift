import GatehouseCrypto

/// Decrypts payload chunks in order and feeds their plaintext to the stream parser (FORMAT.md
/// §3.10 steps 5 and 6), then checks the manifest against the header (step 7). Shared by the
/// two-pass ``BundleOpener`` and the one-pass ``OnePassOpener``, so both judge a chunk alike.
final class PayloadDecryptor {
    private let decryptor: SecretStreamDecryptor
    private let parser: PlaintextStreamParser
    private let headerHash: SHA256Digest
    private let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: PayloadLayout.chunkSize, alignment: 16)
    /// Plaintext of the last chunk decrypted but not yet parsed: a pause (``take(_:isFinal:index:while:)``).
    private var held: [UInt8] = []
    /// Plaintext is parsed in pieces of this size, so that a pause comes soon after it is due.
    private static let piece = 8192

    /// A decryptor for the bundle whose exact header is `headerBytes`, with the stream key
    /// unwrapped from the reader's stanza.
    init(streamKey: borrowing SecretBytes, header: BundleHeader, headerBytes: [UInt8],
         sink: any OpenedFileSink) throws(FormatError) {
        do { decryptor = try SecretStreamDecryptor(key: streamKey, header: header.streamHeader) } catch {
            throw .decryptionFailed("the payload stream header was refused")
        }
        parser = PlaintextStreamParser(sink: sink)
        headerHash = SHA256Hasher.hash(headerBytes)
    }

    deinit {
        wipe(plain)  // it held patient data
        plain.deallocate()
        held.withUnsafeMutableBytes { wipe($0) }
    }

    /// Decrypts chunk `index` (its ciphertext, without the frame) and parses its plaintext, in
    /// pieces while `proceed` says so. Returns false when it paused: the rest of the chunk's
    /// plaintext is held for ``resume()``, and no further chunk may be taken before it.
    @discardableResult
    func take(_ ciphertext: UnsafeRawBufferPointer, isFinal: Bool, index: Int,
              while proceed: () -> Bool = { true }) throws(FormatError) -> Bool {
        // The manifest ends the final chunk (FORMAT.md §3.5): nothing, not even an empty
        // chunk, may follow it, so each payload has exactly one encoding.
        guard !parser.isComplete else { throw .malformed("payload chunk \(index) follows the end of the manifest") }
        let result: (count: Int, isFinal: Bool)
        do {
            result = try headerHash.bytes.withUnsafeBytes { ad in
                try decryptor.pull(ciphertext, additionalData: ad, into: plain)
            }
        } catch {
            throw .decryptionFailed("payload chunk \(index) does not decrypt")
        }
        guard result.isFinal == isFinal else {
            throw .decryptionFailed("payload chunk \(index)'s tag disagrees with its frame")
        }
        var offset = 0
        while offset < result.count {
            guard proceed() else {
                held = Array(plain[offset..<result.count])
                return false
            }
            let end = min(result.count, offset + Self.piece)
            try parser.feed(UnsafeRawBufferPointer(rebasing: plain[offset..<end]))
            offset = end
        }
        return true
    }

    /// Parses the plaintext a pause held back.
    func resume() throws(FormatError) {
        defer {
            held.withUnsafeMutableBytes { wipe($0) }
            held = []
        }
        try withBytes(held) { (bytes) throws(FormatError) in try parser.feed(bytes) }
    }

    /// After the last chunk: the manifest, checked against the verified envelope by `reader`.
    func finish(_ envelope: VerifiedEnvelope, reader: ODSCode) throws(FormatError) -> Manifest {
        guard parser.isComplete, let manifestBytes = parser.manifestBytes else {
            throw .malformed("the payload ends \(parser.position)")
        }
        let manifest = try Manifest.parse(manifestBytes)
        try BundleOpener(reader: reader).check(manifest, envelope: envelope, entries: parser.entries, digests: parser.digests)
        return manifest
    }
}
