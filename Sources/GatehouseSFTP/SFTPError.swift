/// A malformed SFTP packet. One struct with a growable kind, built by static factories.
public struct SFTPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public enum Kind: Hashable, Sendable {
        /// The declared packet length is outside the protocol's bounds.
        case badLength
        /// The packet body does not match its type's layout.
        case malformed
    }

    /// The kind of failure.
    public let kind: Kind
    /// What was being parsed and why it failed.
    public let message: String

    /// A length outside the bounds.
    public static func badLength(_ message: String) -> SFTPError { .init(kind: .badLength, message: message) }
    /// A body that does not match its layout.
    public static func malformed(_ message: String) -> SFTPError { .init(kind: .malformed, message: message) }

    public var description: String { message }
}
