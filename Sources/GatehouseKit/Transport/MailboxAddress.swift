/// Where an organisation collects its mail: the address on its identity card, overridable in
/// `gatehouse.toml`.
public enum MailboxAddress: Sendable, Hashable, CustomStringConvertible {
    /// A mailbox server that is a folder on a shared file system: `dir:/srv/gatehouse/mailboxes`.
    /// It holds one sub-folder per organisation.
    case directory(String)

    /// Parses `dir:/absolute/path`.
    public init(_ text: String) throws(KitError) {
        if text.hasPrefix("dir:") {
            let path = String(text.dropFirst(4))
            guard path.hasPrefix("/"), !path.contains("\0"), path.count > 1 else {
                throw .invalidInput("mailbox address \(text.debugDescription): a directory mailbox is dir: followed by an absolute path")
            }
            self = .directory(path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path)
            return
        }
        throw .invalidInput("mailbox address \(text.debugDescription) is not understood (expected dir:/absolute/path)")
    }

    /// The address as written on cards and in configuration.
    public var description: String {
        switch self {
        case .directory(let path): "dir:\(path)"
        }
    }

    /// A transport that reaches this mailbox server.
    public func transport() -> any MailboxTransport {
        switch self {
        case .directory(let path): DirectoryTransport(root: path)
        }
    }
}
