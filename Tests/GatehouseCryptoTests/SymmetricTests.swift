import GatehouseCrypto
import Testing

@Suite("Key wrap, secretstream, DEFLATE and secrets")
struct SymmetricTests {
    @Test func keyWrapRoundTripAndRefusals() throws {
        let content = SecretBytes.random(count: 32)
        let wrapKey = SecretBytes.random(count: 32)
        let ad = Array("stanza".utf8)
        let wrapped = KeyWrap.wrap(content, with: wrapKey, associatedData: ad)
        #expect(wrapped.count == KeyWrap.wrappedLength)
        let unwrapped = try KeyWrap.unwrap(wrapped, with: wrapKey, associatedData: ad).isEqual(to: content)
        #expect(unwrapped)
        #expect(throws: CryptoError.self) { _ = try KeyWrap.unwrap(wrapped, with: SecretBytes.random(count: 32), associatedData: ad) }
        #expect(throws: CryptoError.self) { _ = try KeyWrap.unwrap(wrapped, with: wrapKey, associatedData: ad + [0]) }
        for i in wrapped.indices {
            var changed = wrapped
            changed[i] ^= 0x80
            #expect(throws: CryptoError.self) { _ = try KeyWrap.unwrap(changed, with: wrapKey, associatedData: ad) }
        }
    }

    func encrypt(_ chunks: [[UInt8]], key: borrowing SecretBytes, ad: [UInt8]) throws -> (header: [UInt8], ciphertexts: [[UInt8]]) {
        let stream = try SecretStreamEncryptor(key: key)
        var out: [[UInt8]] = []
        for (i, chunk) in chunks.enumerated() {
            var buffer = [UInt8](repeating: 0, count: chunk.count + SecretStream.overhead)
            let n = chunk.withUnsafeBytes { p in ad.withUnsafeBytes { a in buffer.withUnsafeMutableBytes {
                stream.push(p, additionalData: a, isFinal: i == chunks.count - 1, into: $0) } } }
            out.append(Array(buffer.prefix(n)))
        }
        return (stream.header, out)
    }

    func decrypt(_ ciphertexts: [[UInt8]], header: [UInt8], key: borrowing SecretBytes, ad: [UInt8]) throws -> [([UInt8], Bool)] {
        let stream = try SecretStreamDecryptor(key: key, header: header)
        return try ciphertexts.map { c in
            var out = [UInt8](repeating: 0xAA, count: c.count)
            let (n, final) = try c.withUnsafeBytes { p in try ad.withUnsafeBytes { a in try out.withUnsafeMutableBytes {
                try stream.pull(p, additionalData: a, into: $0) } } }
            return (Array(out.prefix(n)), final)
        }
    }

    @Test func secretStreamRoundTripAndEveryTamper() throws {
        let key = SecretBytes.random(count: 32)
        let chunks: [[UInt8]] = [Array("first".utf8), [], Array(repeating: 9, count: 1000)]
        let ad = Array("header hash".utf8)
        let (header, ciphertexts) = try encrypt(chunks, key: key, ad: ad)
        let plain = try decrypt(ciphertexts, header: header, key: key, ad: ad)
        #expect(plain.map(\.0) == chunks)
        #expect(plain.map(\.1) == [false, false, true])

        #expect(throws: CryptoError.self) { _ = try decrypt(ciphertexts, header: header, key: SecretBytes.random(count: 32), ad: ad) }
        #expect(throws: CryptoError.self) { _ = try decrypt(ciphertexts, header: header, key: key, ad: ad + [1]) }
        #expect(throws: CryptoError.self) { _ = try decrypt([ciphertexts[1], ciphertexts[0], ciphertexts[2]], header: header, key: key, ad: ad) }
        #expect(throws: CryptoError.self) { _ = try decrypt([ciphertexts[0], ciphertexts[2]], header: header, key: key, ad: ad) }
        var badHeader = header
        badHeader[0] ^= 1
        #expect(throws: CryptoError.self) { _ = try decrypt(ciphertexts, header: badHeader, key: key, ad: ad) }
        for i in ciphertexts[2].indices {
            var changed = ciphertexts
            changed[2][i] ^= 0x01
            #expect(throws: CryptoError.self) { _ = try decrypt(changed, header: header, key: key, ad: ad) }
        }
    }

    @Test func failedPullLeavesNoPlaintext() throws {
        let key = SecretBytes.random(count: 32)
        let (header, ciphertexts) = try encrypt([Array(repeating: 0x41, count: 100)], key: key, ad: [])
        var changed = ciphertexts[0]
        changed[50] ^= 1
        let stream = try SecretStreamDecryptor(key: key, header: header)
        var out = [UInt8](repeating: 0xAA, count: changed.count)
        #expect(throws: CryptoError.self) {
            _ = try changed.withUnsafeBytes { p in try out.withUnsafeMutableBytes { try stream.pull(p, additionalData: UnsafeRawBufferPointer(start: nil, count: 0), into: $0) } }
        }
        #expect(out.prefix(100).allSatisfy { $0 == 0 })
    }

    func deflate(_ data: [UInt8], limit: Int? = nil) -> [UInt8]? {
        let deflater = BlockDeflater(level: 6)
        var out = [UInt8](repeating: 0, count: limit ?? deflater.bound(data.count))
        let n = data.withUnsafeBytes { d in out.withUnsafeMutableBytes { deflater.compress(d, into: $0) } }
        return n.map { Array(out.prefix($0)) }
    }

    func inflate(_ data: [UInt8], size: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        try data.withUnsafeBytes { d in try out.withUnsafeMutableBytes { try BlockInflater().decompress(d, into: $0) } }
        return out
    }

    @Test func deflateRoundTripAndBounds() throws {
        let text = Array(String(repeating: "Metformin 500mg twice daily. ", count: 2000).utf8)
        let compressed = try #require(deflate(text))
        #expect(compressed.count < text.count / 10)
        #expect(try inflate(compressed, size: text.count) == text)
        // Too small an output buffer: compress says no rather than writing a partial stream.
        #expect(deflate(text, limit: 10) == nil)
        // Declared smaller than the real output (a bomb), larger, truncated, extended, garbage.
        let zeros = try #require(deflate([UInt8](repeating: 0, count: 1 << 20)))
        #expect(zeros.count < 2000)
        #expect(throws: CryptoError.self) { _ = try inflate(zeros, size: 1000) }
        #expect(throws: CryptoError.self) { _ = try inflate(compressed, size: text.count + 1) }
        #expect(throws: CryptoError.self) { _ = try inflate(Array(compressed.dropLast(3)), size: text.count) }
        #expect(throws: CryptoError.self) { _ = try inflate(compressed + [0], size: text.count) }
        #expect(throws: CryptoError.self) { _ = try inflate([0xff, 0xff, 0xff, 0xff], size: 10) }
    }

    @Test func secrets() {
        let a = SecretBytes.random(count: 32)
        let b = SecretBytes.random(count: 32)
        #expect(a.count == 32)
        let differ = !a.isEqual(to: b)
        #expect(differ)
        let copy = a.withUnsafeBytes { SecretBytes(copying: $0) }
        let same = copy.isEqual(to: a)
        #expect(same)
        let shown = a.withUnsafeBytes { Array($0).hexString }
        let description = a.description
        #expect(!description.contains(shown))
        #expect(description.contains("redacted"))
        #expect(constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEqual([1, 2, 3], [1, 2]))
    }
}
