/// An error from the web application: one type, with a category callers and tests switch on.
package struct WebError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure.
    package enum Category: Sendable, Equatable {
        /// Bad input from a person or a form (a name, a code, a value).
        case invalidInput
        /// The user store or the journal could not be read or written.
        case storage
        /// The listener or settings cannot be used (e.g. plain HTTP off loopback).
        case configuration
        /// The account named does not exist.
        case notFound
    }

    /// The category.
    package let category: Category
    /// What went wrong, naming what and where.
    package let message: String

    package static func invalidInput(_ message: String) -> WebError { .init(category: .invalidInput, message: message) }
    package static func storage(_ message: String) -> WebError { .init(category: .storage, message: message) }
    package static func configuration(_ message: String) -> WebError {
        .init(category: .configuration, message: message)
    }
    package static func notFound(_ message: String) -> WebError { .init(category: .notFound, message: message) }

    package var description: String { message }
}
