/// Why a notification could not be sent. One struct with a growable category (the style of
/// `KitError`); messages name the target and never hold the event's contents or a secret.
public struct NotifyError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure.
    public enum Category: String, Sendable {
        /// The URL or a setting cannot be used.
        case invalidTarget = "invalid-target"
        /// Name lookup or connection failed or timed out.
        case unreachable
        /// The TLS handshake failed: an untrusted certificate, a wrong host name, no common version.
        case tlsRefused = "tls-refused"
        /// The receiver was too slow (a read or write timed out).
        case timeout
        /// The receiver answered with something that is not HTTP, or an HTTP error status.
        case rejected
        /// The command could not start, failed, or was killed after its time limit.
        case commandFailed = "command-failed"
    }

    /// The category.
    public let category: Category
    /// The sentence for the log.
    public let message: String

    init(_ category: Category, _ message: String) {
        self.category = category
        self.message = message
    }

    public var description: String { message }
}
