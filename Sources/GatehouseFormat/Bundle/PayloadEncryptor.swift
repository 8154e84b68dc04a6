import GatehouseCrypto

/// Cuts the plaintext stream into 64 KiB secretstream chunks, frames them and writes them,
/// hashing every byte for the outer signature (FORMAT.md §3.4).
///
/// A full buffer is pushed only when more data arrives, so the last chunk, and only it,
/// carries the final tag even when the stream ends on a chunk boundary.
final class PayloadEncryptor {
    private let encryptor: SecretStreamEncryptor
    private let additionalData: UnsafeMutableRawBufferPointer
    private let sink: any ByteSink
    private let hasher: SHA256Hasher
    private let plaintext: UnsafeMutableRawBufferPointer
    private let frame: UnsafeMutableRawBufferPointer
    private var filled = 0
    private(set) var chunkCount = 0
    private(set) var bytesWritten: UInt64 = 0

    init(encryptor: consuming SecretStreamEncryptor, headerHash: SHA256Digest, sink: any ByteSink, hasher: SHA256Hasher) {
        self.encryptor = encryptor
        additionalData = .allocate(byteCount: headerHash.bytes.count, alignment: 1)
        additionalData.copyBytes(from: headerHash.bytes)
        self.sink = sink
        self.hasher = hasher
        plaintext = .allocate(byteCount: PayloadLayout.chunkSize, alignment: 16)
        frame = .allocate(byteCount: 4 + PayloadLayout.fullChunkCiphertext, alignment: 16)
    }

    deinit {
        // The buffers held plaintext records.
        wipe(plaintext)
        plaintext.deallocate()
        frame.deallocate()
        additionalData.deallocate()
    }

    /// Adds bytes to the plaintext stream.
    func append(_ bytes: UnsafeRawBufferPointer) throws(FormatError) {
        var offset = 0
        while offset < bytes.count {
            if filled == PayloadLayout.chunkSize { try push(isFinal: false) }
            let n = min(PayloadLayout.chunkSize - filled, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: plaintext[filled..<(filled + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            filled += n
            offset += n
        }
    }

    /// Adds bytes to the plaintext stream.
    func append(_ bytes: [UInt8]) throws(FormatError) {
        try withBytes(bytes) { (b) throws(FormatError) in try append(b) }
    }

    /// Pushes the last chunk with the final tag.
    func finish() throws(FormatError) { try push(isFinal: true) }

    private func push(isFinal: Bool) throws(FormatError) {
        guard chunkCount < PayloadLayout.maxChunks else { throw .invalidInput("the payload exceeds \(PayloadLayout.maxChunks) chunks") }
        let length = encryptor.push(
            UnsafeRawBufferPointer(rebasing: plaintext[0..<filled]),
            additionalData: UnsafeRawBufferPointer(additionalData),
            isFinal: isFinal,
            into: UnsafeMutableRawBufferPointer(rebasing: frame[4...])
        )
        let word = UInt32(length) | (isFinal ? PayloadLayout.finalFlag : 0)
        frame.storeBytes(of: word.bigEndian, toByteOffset: 0, as: UInt32.self)
        let out = UnsafeRawBufferPointer(rebasing: frame[0..<(4 + length)])
        hasher.update(out)
        do { try sink.write(out) } catch { throw .io("writing the bundle failed: \(error)") }
        bytesWritten += UInt64(out.count)
        chunkCount += 1
        filled = 0
    }
}
