/// An error from reading or writing a Gatehouse format.
///
/// One public struct with a growable category, built by static factories, so new cases never
/// break callers. Messages say what was being done and to which bundle, never a secret.
public struct FormatError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Why a bundle, receipt, card or key was refused. The raw values of the bundle categories
    /// are the receipt reason names in `docs/FORMAT.md`.
    public enum Category: String, Hashable, Sendable, CaseIterable {
        /// Bytes that do not follow the format (also truncation and trailing data).
        case malformed
        /// The sender is not a pinned partner, or its key id is not known.
        case unknownSender = "unknown-sender"
        /// The outer signature does not verify.
        case authenticationFailed = "authentication-failed"
        /// No stanza for this organisation's keys.
        case notARecipient = "not-a-recipient"
        /// The content key or a payload chunk does not authenticate.
        case decryptionFailed = "decryption-failed"
        /// A DEFLATE block is malformed or inflates past its declared size.
        case decompressionFailed = "decompression-failed"
        /// The inner signature, a digest, or a manifest field does not check.
        case integrityCheckFailed = "integrity-check-failed"
        /// A value the caller supplied is not acceptable (a file name, an ODS code, a size).
        case invalidInput = "invalid-input"
        /// A signature by a revoked key, or by a replaced key made after it was replaced.
        case revokedKey = "revoked-key"
        /// A known sender signed with a key its key manifest held here does not name (yet).
        case unknownKey = "unknown-key"
        /// A key or manifest used past its expiry or grace window.
        case expired
        /// Reading the input or writing the output failed.
        case io
        /// The bundle, its file count or its declared sizes exceed the receiver's limits.
        case tooLarge = "too-large"
    }

    /// What kind of failure this is.
    public let category: Category
    /// The bundle concerned, as 32 hex digits, when known.
    public let bundleID: String?
    /// What failed, in words, without the bundle prefix.
    public let detail: String

    private init(_ category: Category, _ detail: String, bundleID: String?) {
        self.category = category
        self.detail = detail
        self.bundleID = bundleID
    }

    /// Bytes that do not follow the format.
    public static func malformed(_ detail: String, bundle: String? = nil) -> FormatError { .init(.malformed, detail, bundleID: bundle) }
    /// The sender is not known.
    public static func unknownSender(_ detail: String, bundle: String? = nil) -> FormatError { .init(.unknownSender, detail, bundleID: bundle) }
    /// The outer signature does not verify.
    public static func authenticationFailed(_ detail: String, bundle: String? = nil) -> FormatError { .init(.authenticationFailed, detail, bundleID: bundle) }
    /// No stanza for the reader.
    public static func notARecipient(_ detail: String, bundle: String? = nil) -> FormatError { .init(.notARecipient, detail, bundleID: bundle) }
    /// The content key or payload does not decrypt.
    public static func decryptionFailed(_ detail: String, bundle: String? = nil) -> FormatError { .init(.decryptionFailed, detail, bundleID: bundle) }
    /// Beyond the receiver's limits (`[limits]` in gatehouse.toml).
    public static func tooLarge(_ detail: String, bundle: String? = nil) -> FormatError { .init(.tooLarge, detail, bundleID: bundle) }
    /// DEFLATE data is bad or too large.
    public static func decompressionFailed(_ detail: String, bundle: String? = nil) -> FormatError { .init(.decompressionFailed, detail, bundleID: bundle) }
    /// A signed or digested value does not check.
    public static func integrityCheckFailed(_ detail: String, bundle: String? = nil) -> FormatError { .init(.integrityCheckFailed, detail, bundleID: bundle) }
    /// A caller-supplied value is unacceptable.
    public static func invalidInput(_ detail: String, bundle: String? = nil) -> FormatError { .init(.invalidInput, detail, bundleID: bundle) }
    /// A signature by a revoked key.
    public static func revokedKey(_ detail: String, bundle: String? = nil) -> FormatError { .init(.revokedKey, detail, bundleID: bundle) }
    /// A known sender's key that its manifest held here does not name.
    public static func unknownKey(_ detail: String, bundle: String? = nil) -> FormatError { .init(.unknownKey, detail, bundleID: bundle) }
    /// A key or manifest used past its expiry or grace window.
    public static func expired(_ detail: String, bundle: String? = nil) -> FormatError { .init(.expired, detail, bundleID: bundle) }
    /// Reading or writing failed.
    public static func io(_ detail: String, bundle: String? = nil) -> FormatError { .init(.io, detail, bundleID: bundle) }

    /// The same error, attributed to `bundle` if it was not attributed already.
    public func inBundle(_ bundle: String) -> FormatError {
        bundleID == nil ? .init(category, detail, bundleID: bundle) : self
    }

    /// `bundle 3f…: detail`, or just the detail.
    public var description: String {
        if let bundleID { "bundle \(bundleID): \(detail)" } else { detail }
    }
}
