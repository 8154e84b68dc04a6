/// The exit statuses of `gatehouse`. Each failure class has its own, so scripts and the
/// watcher can react without parsing messages. The README lists the same table.
///
/// | status | meaning |
/// | --- | --- |
/// | 0 | success |
/// | 1 | internal error (a bug: please report it) |
/// | 3 | bundle malformed (not a Gatehouse bundle, truncated, trailing data) |
/// | 4 | unknown sender (no pinned identity card for the sender, or unknown key id) |
/// | 5 | authentication failed (the outer signature does not verify) |
/// | 6 | not a recipient (the bundle is not addressed to this organisation's keys) |
/// | 7 | decryption failed |
/// | 8 | integrity check failed (inner signature, manifest or digest mismatch) |
/// | 9 | decompression failed |
/// | 10 | key store problem (not or already initialised, unsafe modes, bad key, root key offline, wrong passphrase) |
/// | 11 | partner or card problem (invalid card, unknown partner, conflicting root key, fingerprint not confirmed) |
/// | 12 | invalid input (bad file name, unreadable input, output exists, invalid ODS code or name) |
/// | 13 | I/O error |
/// | 14 | revoked key |
/// | 15 | not acknowledged (no receipt yet, the bundle failed or expired, or `send --wait` timed out) |
/// | 16 | `gatehouse doctor` found a PROBLEM |
/// | 17 | busy (another `gatehouse run` holds the home, or another key change is in progress) |
/// | 18 | too large (a bundle beyond this gateway's `[limits]`, or more than the disk can take) |
/// | 64 | usage error (a missing or bad argument or option, no passphrase to be had; the hint is the usage) |
public enum GatehouseExitStatus: Int32, Sendable, CaseIterable {
    /// Success.
    case success = 0
    /// An unexpected error: a bug.
    case internalError = 1
    /// The bundle does not follow the format.
    case bundleMalformed = 3
    /// The sender is not a pinned partner, or its key id is unknown.
    case unknownSender = 4
    /// The outer signature does not verify.
    case authenticationFailed = 5
    /// The bundle is not addressed to this organisation.
    case notARecipient = 6
    /// The content key or payload does not decrypt.
    case decryptionFailed = 7
    /// The inner signature, manifest or a digest does not check.
    case integrityCheckFailed = 8
    /// Compressed data is bad or too large.
    case decompressionFailed = 9
    /// The key store is missing, already there, unsafe or damaged.
    case keyStoreProblem = 10
    /// A card is invalid, a partner unknown or conflicting, or a fingerprint not confirmed.
    case partnerProblem = 11
    /// A value, file name or input file given by the user is not acceptable.
    case invalidInput = 12
    /// Reading or writing failed.
    case ioError = 13
    /// A signature by a revoked key.
    case revokedKey = 14
    /// The bundle is not acknowledged: no receipt yet, it failed or expired, or waiting timed out.
    case notAcknowledged = 15
    /// `gatehouse doctor` found at least one problem.
    case problemFound = 16
    /// Another process holds the home or its keys.
    case busy = 17
    /// A bundle beyond the receiver's limits or free space.
    case tooLarge = 18
    /// A usage error: an argument the parser or the command refused, or no way to read a passphrase.
    case usage = 64
}
