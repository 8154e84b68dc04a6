public import GatehouseFormat

/// An upload in progress in the own mailbox, seen while its sender is still writing it.
public struct ArrivingUpload: Sendable, Equatable {
    /// Its temporary name in the mailbox.
    public let name: String
    /// The organisation uploading it, as the relay recorded it (never taken from the name).
    public let uploader: ODSCode
    /// Its size when listed.
    public let size: UInt64

    /// An upload in progress.
    public init(name: String, uploader: ODSCode, size: UInt64) {
        self.name = name
        self.uploader = uploader
        self.size = size
    }
}

/// An upload followed to its end: published by its sender under `name`, `size` bytes, every one
/// of them read.
public struct FollowedUpload: Sendable, Equatable {
    /// The final name the sender published it under, in the same mailbox.
    public let name: String
    /// Its published size.
    public let size: UInt64

    /// A followed upload.
    public init(name: String, size: UInt64) {
        self.name = name
        self.size = size
    }
}

/// Why an upload in progress could not be followed to a bundle. What was read is then no
/// bundle: the caller discards it, and collects the published file (if any) as usual.
public enum FollowFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The mailbox does not tell of uploads in progress (a `dir:` mailbox, another SFTP server,
    /// an older relay).
    case unsupported(String)
    /// The upload is gone without being published (its sender removed it, its session ended, it
    /// was replaced): what was read is no bundle.
    case abandoned(String)
    /// Its sender wrote over bytes already written (or past a hole): what was read may not be the
    /// file's bytes.
    case rewritten(String)
    /// It is smaller than what was read from it (cut short on the relay's disk).
    case shrank(String, read: UInt64, size: UInt64)

    public var description: String {
        switch self {
        case .unsupported(let path): "\(path): the mailbox does not tell of uploads in progress"
        case .abandoned(let path): "\(path): the upload was abandoned (removed or replaced, never published)"
        case .rewritten(let path): "\(path): its sender wrote over bytes already read; fetch the published file"
        case .shrank(let path, let read, let size):
            "\(path): the upload shrank to \(size) bytes after \(read) were read from it"
        }
    }
}

extension MailboxTransport {
    public var followsUploads: Bool { false }

    public func waitForMail(_ org: ODSCode, upTo timeout: Duration, uploads: Bool) async {
        await waitForMail(org, upTo: timeout)
    }

    public func uploadsInProgress(_ org: ODSCode) async throws -> [ArrivingUpload] {
        throw FollowFailure.unsupported("\(org)'s mailbox")
    }

    public func follow(
        _ name: String, in org: ODSCode, maxBytes: UInt64, consume: (ArraySlice<UInt8>) async throws -> Void
    ) async throws -> FollowedUpload {
        throw FollowFailure.unsupported("\(org)'s mailbox")
    }
}
