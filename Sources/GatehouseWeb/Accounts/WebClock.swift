import Foundation

/// The time, in milliseconds since the epoch, as the web application reads it: injected, so
/// tests can move time past a session time-out or a lock-out without waiting.
package struct WebClock: Sendable {
    package let now: @Sendable () -> Int64

    package init(_ now: @escaping @Sendable () -> Int64) { self.now = now }

    /// The system clock.
    package static let system = WebClock { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
