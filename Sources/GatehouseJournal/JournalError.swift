/// A journal that cannot be opened, read or written, or a node whose membership is refused.
public struct JournalError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a category a caller can act on.
    public enum Kind: Sendable, Equatable {
        /// The database could not be reached or refused a statement.
        case database
        /// The journal's settings are unusable (an address, a password file, TLS).
        case configuration
        /// Another live process holds this node's id, or this node lost its lease.
        case membership
    }

    /// The category.
    public let kind: Kind
    /// What was being done and where, never a password.
    public let message: String
    /// What to do about it.
    public let hint: String?

    init(_ kind: Kind, _ message: String, hint: String? = nil) {
        self.kind = kind
        self.message = message
        self.hint = hint
    }

    /// A database failure while doing `what` (which names the database), for `reason`.
    public static func database(_ what: String, reason: String) -> JournalError {
        JournalError(.database, "\(what) failed: \(reason)",
                     hint: "check that PostgreSQL is running and reachable, and the journal settings in gatehouse.toml")
    }

    /// Unusable settings.
    public static func configuration(_ message: String, hint: String? = nil) -> JournalError {
        JournalError(.configuration, message, hint: hint)
    }

    /// A refused or lost membership.
    public static func membership(_ message: String, hint: String? = nil) -> JournalError {
        JournalError(.membership, message, hint: hint)
    }

    public var description: String { message }
}
