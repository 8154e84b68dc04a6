import Glibc
public import GatehouseFormat

/// Receives an opened bundle's files into a private staging folder beside the destination and
/// publishes them all at once, by renaming the folder, only after every check has passed.
///
/// Nothing appears at the destination unless everything verified; a failure removes the
/// staging folder and everything in it.
public final class StagedPublisher: OpenedFileSink {
    /// Names of the files Gatehouse adds beside the records. They start with a dot, which no
    /// manifest name may (FORMAT.md §3.7), so they can never collide with a record.
    public static let manifestJSONName = ".gatehouse-manifest.json"
    /// The signed manifest exactly as received, kept as evidence.
    public static let manifestRawName = ".gatehouse-manifest.ghm"

    /// Where the files will appear (empty until ``publish(to:)`` names it, for a publisher made
    /// with ``init(stagingParent:access:)``).
    public private(set) var destination: String
    /// The private staging folder.
    public let staging: String
    /// The modes and group each file and folder gets before it is published.
    public let access: PublishAccess
    private var current: DurableFile?
    private var published = false
    private var names: [String] = []
    private var deferredSync = false

    /// Prepares to publish into `destination`, which must not exist or be an empty folder.
    /// The staging folder is created in `stagingParent` (default: beside the destination),
    /// which must be on the same file system so the final rename is atomic. `access` is set on
    /// every file and folder as it is created, so the rename publishes them readable as they are.
    public init(destination: String, stagingParent: String? = nil, access: PublishAccess = .private) throws(SystemError) {
        self.access = access
        let path = Self.withoutTrailingSlash(destination)
        self.destination = path
        try Self.checkDestinationIsFree(path)
        staging = try Self.makeStaging(in: stagingParent ?? DurableFile.split(path).folder, access: access)
    }

    /// Prepares to publish into a destination named only when everything has verified (a
    /// gateway publishes each workflow in its own folder, and the workflow is in the manifest).
    /// `stagingParent` must be on the same file system as that destination.
    public init(stagingParent: String, access: PublishAccess = .private) throws(SystemError) {
        self.access = access
        destination = ""
        staging = try Self.makeStaging(in: stagingParent, access: access)
    }

    private static func makeStaging(in parent: String, access: PublishAccess) throws(SystemError) -> String {
        // A fixed-length name (see DurableFile.temporaryName): an output folder of 255 bytes still has one.
        let staging = DurableFile.temporaryName(beside: "\(parent)/staging")
        // Received records are patient data: the folder is private to the gateway's user unless
        // `access` names a group, which then reads it once it is published (never before: the
        // staging parent is private).
        try access.makeFolder(staging)
        return staging
    }

    private static func withoutTrailingSlash(_ destination: String) -> String {
        // Bytes: "out/\u{301}" does not end with the Character "/", and counts are of bytes.
        destination.utf8.count > 1 && destination.utf8.last == UInt8(ascii: "/")
            ? String(Substring(destination.utf8.dropLast())) : destination
    }

    deinit { if !published { discard() } }

    private static func checkDestinationIsFree(_ path: String) throws(SystemError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else { throw SystemError("inspecting", path) }
            return
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw SystemError("using as output folder", path, code: EEXIST) }
        guard let names = FileOperations.listFolder(path) else { throw SystemError("reading folder", path) }
        guard names.isEmpty else { throw SystemError("using as output folder (it is not empty)", path, code: ENOTEMPTY) }
    }

    public func beginFile(_ entry: FileTableEntry, index: Int) throws {
        // The format already refused unsafe names; check again where the name meets the file system.
        try FileNameRule.validate(entry.name)
        current = try DurableFile(path: "\(staging)/\(entry.name)", access: access)
        names.append(entry.name)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws { try current!.write(bytes) }

    public func endFile() throws {
        // The first few files are synced one by one; after that, one file-system sync at
        // publish() costs far less than an fsync per file (a bundle of hundreds of records).
        // The staging folder itself is synced once, by publish().
        let deferring = names.count > Self.filesSyncedSingly
        try current!.commit(sync: deferring ? .none : .file)
        deferredSync = deferredSync || deferring
        current = nil
    }

    /// Files synced as they are written; later ones are synced together by ``publish()``.
    static let filesSyncedSingly = 4

    /// Adds a Gatehouse file (manifest copies) to the staging folder.
    public func addFile(named name: String, contents: [UInt8]) throws(SystemError) {
        let file = try DurableFile(path: "\(staging)/\(name)", access: access)
        try contents.withUnsafeBytes { bytes in Result { () throws(SystemError) in try file.writeAll(bytes) } }.get()
        try file.commit(sync: .file)
        names.append(name)
    }

    /// Publishes the staging folder as the destination (or as `destination`, named now),
    /// atomically.
    public func publish(to target: String? = nil) throws(SystemError) {
        if let target {
            destination = Self.withoutTrailingSlash(target)
            try Self.checkDestinationIsFree(destination)
        }
        if deferredSync { try DurableFile.syncFileSystem(of: staging) }
        try DurableFile.syncFolder(staging)
        // An empty destination folder is replaced; anything else in the way is an error.
        if rmdir(destination) != 0 && errno != ENOENT {
            throw SystemError("replacing the empty output folder", destination)
        }
        try DurableFile.renameNoReplace(staging, destination)
        published = true
        try DurableFile.syncFolder(DurableFile.split(destination).folder)
    }

    /// Removes the staging folder and everything in it.
    public func discard() {
        current?.discard()
        current = nil
        for name in names { unlink("\(staging)/\(name)") }
        rmdir(staging)
    }
}
