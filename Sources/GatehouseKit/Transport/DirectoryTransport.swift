import Glibc
import GatehouseCrypto
public import GatehouseFormat

/// A mailbox server that is a folder: `<root>/<ODS>/` per organisation.
public struct DirectoryTransport: MailboxTransport {
    /// The mailbox server's folder.
    public let root: String
    private let watch: DirectoryMailboxWatch

    /// A transport for the mailbox server at `root`; `watching` says how ``waitForMail(_:upTo:)``
    /// learns of new mail.
    public init(root: String, watching: MailboxWatching = .auto) {
        self.root = root
        watch = DirectoryMailboxWatch(watching: watching)
    }

    /// The folder of `org`'s mailbox.
    public func folder(of org: ODSCode) -> String { "\(root)/\(org.value)" }

    public func deliver(_ path: String, to org: ODSCode, as name: String) async throws {
        let folder = folder(of: org)
        var info = stat()
        guard stat(root, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw KitError.io("the mailbox server folder \(root) is not reachable (missing, or not a folder)", path: root)
        }
        try FileOperations.makeDirectory(folder, mode: 0o770)
        let source = try FileSource(path: path)
        // The temporary name starts with a dot, so a collector never lists a partial file.
        let file = try DurableFile(path: "\(folder)/\(name)", mode: 0o640)
        try FileOperations.copy(source, into: file)
        let outcome = Result { () throws(SystemError) in try file.commit() }
        guard case .failure(let error) = outcome else { return }
        guard error.code == EEXIST else { throw error }
        // Delivered before a crash or a lost acknowledgement: the same bundle id always names
        // the same bytes, so an existing file of the same size is this delivery.
        file.discard()
        guard Self.size(of: "\(folder)/\(name)") == source.size else { throw error }
    }

    private static func size(of path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_size) : nil
    }

    public func list(_ org: ODSCode) async throws -> [String] {
        let folder = folder(of: org)
        guard let names = FileOperations.listFolder(folder) else {
            if errno == ENOENT { return [] }
            throw SystemError("listing mailbox", folder)
        }
        // Dot-names are transfers in progress (the first byte: ".\u{301}x" is a dot-name too).
        let final = names.filter { $0.utf8.first != UInt8(ascii: ".") }.sorted()
        watch.listed(final, in: folder)
        return final
    }

    /// Returns as soon as `org`'s mailbox holds a name the last ``list(_:)`` did not return
    /// (inotify), or after `timeout`; on a network file system, or with `collector.watch =
    /// "poll"`, it only sleeps.
    public func waitForMail(_ org: ODSCode, upTo timeout: Duration) async {
        _ = await watch.wait(for: folder(of: org), in: root, upTo: timeout)
    }

    public func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64) async throws {
        let source = try FileSource(path: "\(folder(of: org))/\(name)", followLinks: false)
        guard source.size <= maxBytes else { throw MailboxItemTooLarge(name: name, size: source.size, limit: maxBytes) }
        let file = try DurableFile(path: path, mode: 0o600)
        try FileOperations.copy(source, into: file)
        // Scratch: the mailbox keeps the original until it has been handled.
        try file.commit(sync: .none)
    }

    public func remove(_ name: String, from org: ODSCode) async throws {
        let path = "\(folder(of: org))/\(name)"
        guard unlink(path) == 0 || errno == ENOENT else { throw SystemError("removing", path) }
        // No folder sync (as the relay's sftp-server): an item removed only after it was
        // handled and journalled, that comes back after a power cut, is handled again as a
        // duplicate (a bundle is answered with its original receipt, a receipt for a finished
        // bundle is ignored), so nothing is published or acknowledged twice.
    }
}
