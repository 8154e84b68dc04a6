internal import CSodium

/// Initialises libsodium exactly once, before any primitive is used.
///
/// `sodium_init` is idempotent and thread-safe, but calling it once from a lazily
/// initialised global keeps the cost out of hot paths.
enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    /// Traps if libsodium cannot initialise: without it nothing is safe to do.
    static func ensureInitialised() {
        precondition(initialised, "libsodium failed to initialise")
    }
}

/// Fills `buffer` with bytes from the operating system's CSPRNG (libsodium `randombytes_buf`).
public func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
    Sodium.ensureInitialised()
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    randombytes_buf(base, buffer.count)
}

/// Returns `count` random bytes, for public values such as bundle ids and nonces.
public func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { fillRandom($0) }
    return bytes
}

/// Compares two byte strings in time that depends only on their length.
public func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    Sodium.ensureInitialised()
    guard a.count == b.count else { return false }
    guard a.count > 0 else { return true }
    return sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
}

/// Compares two byte arrays in constant time (for MACs, commitments and digests).
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in constantTimeEqual(pa, pb) } }
}

/// Overwrites memory with zeros in a way the optimiser cannot remove.
public func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress, buffer.count > 0 else { return }
    sodium_memzero(base, buffer.count)
}
