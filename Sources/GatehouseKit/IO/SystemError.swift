import Glibc

/// A failed system call: what was being done, to which path, and the errno text.
public struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done ("creating", "reading", …).
    public let operation: String
    /// The path concerned.
    public let path: String
    /// The errno value.
    public let code: Int32
    /// Set when the failure is that `path` is not a regular file: what it is instead.
    public let foundType: FileType?

    /// Captures the current `errno`.
    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
        foundType = nil
    }

    private init(notRegular path: String, type: FileType) {
        operation = "reading"
        self.path = path
        code = switch type {
        case .directory: EISDIR
        case .symbolicLink: ELOOP
        default: EINVAL
        }
        foundType = type
    }

    /// `path` is a FIFO, a folder, a link where none is followed, … when a regular file was needed.
    public static func notRegular(_ path: String, _ type: FileType) -> SystemError {
        SystemError(notRegular: path, type: type)
    }

    /// True when the failure means the disk (or quota) is full.
    public var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }

    public var description: String {
        if let foundType { return "\(path) is \(foundType.phrase), not a regular file" }
        return "\(operation) \(path) failed: \(String(cString: strerror(code)))"
    }
}
