import GatehouseCrypto
public import GatehouseFormat
public import GatehouseKit
import Glibc

/// Builds one pack in a partner's outbox folder the way the gateway expects it: every file and
/// the sidecar (.gatehouse.toml) written and synced inside a hidden folder (which the gateway
/// ignores), then the folder renamed in whole, without replacing anything, and the outbox synced.
/// The gateway therefore takes all of a pack or none of it. `gatehouse send` and the web *Send*
/// page both drop packs through this one type.
public final class PackDrop {
    /// The pack's folder name, once committed, in the outbox (`send-<time>-<hex>`).
    public let name: String
    /// The partner's outbox folder.
    public let outbox: String
    private let staging: String
    private let access: PublishAccess

    /// Creates the hidden staging folder in `outbox` (which must exist), private to the gateway's
    /// user through `access`.
    public init(outbox: String, access: PublishAccess) throws(KitError) {
        name = "send-\(RFC3339.format(KeyStore.now()) ?? "now")-\(randomBytes(4).hexString)"
        self.outbox = outbox
        self.access = access
        staging = "\(outbox)/.\(name)"
        do { try access.makeFolder(staging) } catch { throw FileOperations.kitError(error) }
    }

    /// Why `name` cannot travel as a file of a pack, or nil when it can: it must be publishable
    /// (FORMAT.md §3.7) and must not look like a transfer in progress.
    public static func refusal(forName name: String) -> String? {
        do { try FileNameRule.validate(name) } catch { return "its name cannot be published: \(error.detail)" }
        // The gateway ignores these names in the outbox: they mark transfers in progress.
        if OutboxScanner.isIgnored(name) { return "names starting with a dot or ending in .part are never sent" }
        return nil
    }

    /// A new file of the pack, named `fileName` (checked with ``refusal(forName:)`` first);
    /// the caller writes it and commits it with `sync: .file` (the folder is synced once, after).
    public func file(named fileName: String) throws(KitError) -> DurableFile {
        if let why = Self.refusal(forName: fileName) { throw KitError.invalidInput("cannot send \(fileName): \(why)") }
        do { return try DurableFile(path: "\(staging)/\(fileName)", mode: 0o600, access: access) } catch {
            throw FileOperations.kitError(error)
        }
    }

    /// Writes the sidecar for `context`, syncs, and renames the pack into the outbox; returns its
    /// name. Once this returns the gateway may claim it at any moment.
    public func commit(context: PackContext) throws -> String {
        let sidecar = try DurableFile(path: "\(staging)/\(PackSidecar.name)", mode: 0o600, access: access)
        try Array(PackSidecar.text(for: context).utf8).withUnsafeBytes { try sidecar.writeAll($0) }
        try sidecar.commit(sync: .file)
        try DurableFile.syncFolder(staging)
        try DurableFile.renameNoReplace(staging, "\(outbox)/\(name)")
        try DurableFile.syncFolder(outbox)
        return name
    }

    /// Removes the staging folder and everything in it (after a failure): nothing is left behind.
    public func discard() {
        if let folder = try? FolderHandle(path: staging) { folder.removeContents() }
        rmdir(staging)
    }
}
