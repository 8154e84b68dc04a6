/// An error from a cryptographic or compression primitive.
///
/// One public struct with a private kind, built by static factories, so new cases
/// never break callers. Messages never contain secret material.
public struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong, as a stable category callers can switch on.
    public enum Category: Hashable, Sendable {
        /// A key had the wrong length or was otherwise unusable.
        case invalidKey
        /// Authenticated decryption failed: wrong key or modified ciphertext.
        case authenticationFailed
        /// Compressed data was malformed or did not match its declared size.
        case decompressionFailed
        /// A library call failed for a reason outside the caller's data.
        case libraryFailure
    }

    /// The category of the failure.
    public let category: Category
    /// A human-readable explanation.
    public let message: String

    private init(_ category: Category, _ message: String) {
        self.category = category
        self.message = message
    }

    /// A key had the wrong length or was a known-weak value.
    public static func invalidKey(_ what: String) -> CryptoError { .init(.invalidKey, what) }
    /// Authenticated decryption failed.
    public static func authenticationFailed(_ what: String) -> CryptoError { .init(.authenticationFailed, what) }
    /// Compressed data was malformed or exceeded its declared size.
    public static func decompressionFailed(_ what: String) -> CryptoError { .init(.decompressionFailed, what) }
    /// A C library reported an internal failure.
    public static func libraryFailure(_ what: String) -> CryptoError { .init(.libraryFailure, what) }

    public var description: String { message }
}
