import Glibc

/// A failed system call: what was being done, to which path, and the errno text.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done ("creating", "reading", …).
    public let operation: String
    /// The path concerned.
    public let path: String
    /// The errno value.
    public let code: Int32

    /// Captures the current `errno`.
    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// True when the failure means the disk (or quota) is full.
    public var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }

    public var description: String { "\(operation) \(path) failed: \(String(cString: strerror(code)))" }
}
