internal import CSodium

/// Secret key material that cannot be copied and wipes itself when it goes away.
///
/// There is deliberately no `[UInt8]` accessor: secret bytes are reached only through
/// ``withUnsafeBytes(_:)``, so they never end up in a copy the wiper does not know about.
public struct SecretBytes: ~Copyable, @unchecked Sendable {
    private let storage: UnsafeMutableRawBufferPointer

    /// The number of secret bytes.
    public let count: Int

    /// Zero-filled secret storage of `count` bytes, to be filled through ``withUnsafeMutableBytes(_:)``.
    public init(zeroedCount count: Int) {
        Sodium.ensureInitialised()
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        // Keep the pages out of swap where the system allows it; failure is not fatal.
        _ = sodium_mlock(storage.baseAddress!, storage.count)
        self.count = count
    }

    /// Fresh random secret bytes from the operating system's CSPRNG.
    public static func random(count: Int) -> SecretBytes {
        var secret = SecretBytes(zeroedCount: count)
        secret.withUnsafeMutableBytes { fillRandom($0) }
        return secret
    }

    /// Copies `bytes` into new secret storage. The caller remains responsible for wiping its source.
    public init(copying bytes: UnsafeRawBufferPointer) {
        self.init(zeroedCount: bytes.count)
        if bytes.count > 0 { storage.copyMemory(from: bytes) }
    }

    /// Copies `bytes` into new secret storage. The caller remains responsible for wiping its source.
    public init(copying bytes: [UInt8]) {
        self.init(zeroedCount: bytes.count)
        let storage = self.storage
        bytes.withUnsafeBytes { if $0.count > 0 { storage.copyMemory(from: $0) } }
    }

    /// Calls `body` with read access to the secret bytes.
    public func withUnsafeBytes<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Calls `body` with write access to the secret bytes.
    public mutating func withUnsafeMutableBytes<R: ~Copyable, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
    }

    /// Constant-time equality with another secret.
    public func isEqual(to other: borrowing SecretBytes) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }

    /// Always `<redacted>`: secrets are never printed.
    public var description: String { "<redacted \(count)-byte secret>" }

    deinit {
        // sodium_munlock zeroes the memory before unlocking it, so nothing secret
        // goes back to the allocator.
        sodium_munlock(storage.baseAddress!, storage.count)
        storage.deallocate()
    }
}
