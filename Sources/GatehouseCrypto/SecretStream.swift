internal import CSodium

/// libsodium `crypto_secretstream_xchacha20poly1305`: a sequence of authenticated chunks
/// whose order is bound into the MACs, with an explicit final tag.
public enum SecretStream {
    /// Length of the stream header that starts a stream.
    public static let headerLength = Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    /// Ciphertext expansion per chunk (1 tag byte + 16 MAC bytes).
    public static let overhead = Int(crypto_secretstream_xchacha20poly1305_ABYTES)
    /// Length of a stream key.
    public static let keyLength = Int(crypto_secretstream_xchacha20poly1305_KEYBYTES)
}

/// A libsodium secretstream state, wiped and freed in `deinit`.
private func allocateStreamState() -> UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state> {
    UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>.allocate(capacity: 1)
}

private func freeStreamState(_ state: UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>) {
    // The state holds the running subkey and nonce.
    sodium_memzero(state, MemoryLayout<crypto_secretstream_xchacha20poly1305_state>.size)
    state.deallocate()
}

/// The sending half of a secretstream.
public struct SecretStreamEncryptor: ~Copyable, @unchecked Sendable {
    private let state: UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>
    /// The 24-byte header the receiver needs to start its half.
    public let header: [UInt8]

    /// Starts a stream under `key` with a fresh random header.
    public init(key: borrowing SecretBytes) throws(CryptoError) {
        Sodium.ensureInitialised()
        guard key.count == SecretStream.keyLength else { throw .invalidKey("a secretstream key is 32 bytes") }
        state = allocateStreamState()
        var header = [UInt8](repeating: 0, count: SecretStream.headerLength)
        let state = self.state
        key.withUnsafeBytes { k in
            _ = crypto_secretstream_xchacha20poly1305_init_push(state, &header, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        self.header = header
    }

    /// Encrypts one chunk into `output`, which must hold `plaintext.count + overhead` bytes.
    /// Returns the number of bytes written.
    public func push(
        _ plaintext: UnsafeRawBufferPointer,
        additionalData: UnsafeRawBufferPointer,
        isFinal: Bool,
        into output: UnsafeMutableRawBufferPointer
    ) -> Int {
        precondition(output.count >= plaintext.count + SecretStream.overhead)
        var written: UInt64 = 0
        let tag = UInt8(isFinal ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        _ = crypto_secretstream_xchacha20poly1305_push(
            state,
            output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written,
            plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(plaintext.count),
            additionalData.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(additionalData.count),
            tag
        )
        return Int(written)
    }

    deinit { freeStreamState(state) }
}

/// The receiving half of a secretstream.
public struct SecretStreamDecryptor: ~Copyable, @unchecked Sendable {
    private let state: UnsafeMutablePointer<crypto_secretstream_xchacha20poly1305_state>

    /// Starts the receiving half from the sender's header.
    public init(key: borrowing SecretBytes, header: [UInt8]) throws(CryptoError) {
        Sodium.ensureInitialised()
        guard key.count == SecretStream.keyLength else { throw .invalidKey("a secretstream key is 32 bytes") }
        guard header.count == SecretStream.headerLength else { throw .invalidKey("a secretstream header is 24 bytes") }
        let state = allocateStreamState()
        let rc = key.withUnsafeBytes { k in
            crypto_secretstream_xchacha20poly1305_init_pull(state, header, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard rc == 0 else {
            freeStreamState(state)
            throw .invalidKey("the secretstream header was refused")
        }
        self.state = state
    }

    /// Decrypts and authenticates one chunk into `output` (at least `ciphertext.count - overhead` bytes).
    /// Returns the plaintext length and whether the chunk carried the final tag.
    /// Throws if the chunk does not authenticate or carries a tag other than message or final.
    public func pull(
        _ ciphertext: UnsafeRawBufferPointer,
        additionalData: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(CryptoError) -> (count: Int, isFinal: Bool) {
        guard ciphertext.count >= SecretStream.overhead else { throw .authenticationFailed("chunk shorter than its tag") }
        precondition(output.count >= ciphertext.count - SecretStream.overhead)
        var written: UInt64 = 0
        var tag: UInt8 = 0
        let rc = crypto_secretstream_xchacha20poly1305_pull(
            state,
            output.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, &tag,
            ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(ciphertext.count),
            additionalData.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(additionalData.count)
        )
        guard rc == 0 else {
            // Nothing from a chunk that fails to authenticate may be used.
            wipe(UnsafeMutableRawBufferPointer(rebasing: output[0..<(ciphertext.count - SecretStream.overhead)]))
            throw .authenticationFailed("payload chunk does not authenticate")
        }
        switch tag {
        case UInt8(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE): return (Int(written), false)
        case UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL): return (Int(written), true)
        default: throw .authenticationFailed("payload chunk carries an unexpected tag \(tag)")
        }
    }

    deinit { freeStreamState(state) }
}
