import Glibc

/// Where verified records are published and who may read them: `spool/received/` private to the
/// gateway's user by default, or the `[publish]` folder readable by a staff group.
///
/// Every bundle is staged in `staging` (private, on the same file system, so the final rename
/// is atomic) with its group and modes already set, then renamed into `<root>/<sender>/<bundle id>`.
public struct PublishTarget: Sendable {
    /// The folder holding one folder per sender.
    public let root: String
    /// The private folder bundles are staged in before they are renamed into place.
    public let staging: String
    /// The modes and group of everything published.
    public let access: PublishAccess

    /// Publishes into `root`, staging in `staging`, with `access`.
    public init(root: String, staging: String, access: PublishAccess = .private) {
        self.root = root
        self.staging = staging
        self.access = access
    }

    /// The `[publish]` folder readable by `settings.group`. Creates the folder (mode 0750, the
    /// group's) and its private staging folder when missing, and refuses a group the gateway's
    /// user is not a member of, or a staging folder on another file system.
    public init(settings: PublishSettings) throws(KitError) {
        let gid = try Self.groupID(settings.group)
        let access = PublishAccess.readable(by: gid)
        self.init(root: settings.folder, staging: settings.folder + "/" + Self.stagingName, access: access)
        do {
            if !Self.exists(root) { try access.makeFolder(root) }
            // Private: a half-written bundle is never readable by the group, even by name.
            if !Self.exists(staging) { try PublishAccess.private.makeFolder(staging) }
        } catch { throw .io("[publish] folder: \(error)", path: error.path) }
        var rootInfo = stat(), stagingInfo = stat()
        guard stat(root, &rootInfo) == 0, stat(staging, &stagingInfo) == 0 else {
            throw .io("[publish] folder: \(SystemError("inspecting", root))", path: root)
        }
        guard rootInfo.st_dev == stagingInfo.st_dev else {
            throw .invalidInput("[publish] folder: \(staging) is on another file system than \(root); the rename would not be atomic",
                                path: staging)
        }
    }

    /// The name of the private staging folder inside the publish folder. It starts with a dot,
    /// which no sender's ODS code can.
    public static let stagingName = ".gatehouse-staging"

    /// The folder a bundle from `sender` is published as.
    /// (`root` defaults to this target's; a workflow's own folder may be named instead.)
    public func destination(sender: String, bundle: String, in root: String? = nil) -> String {
        "\(root ?? self.root)/\(sender)/\(bundle)"
    }

    /// Makes sure `<root>/<sender>` exists (`root` defaults to this target's; a workflow's own
    /// folder may be named instead, on the staging folder's file system). A new one is made in
    /// the staging folder with its group and mode, then renamed into place, so it never appears
    /// with other permissions.
    public func prepareSenderFolder(_ sender: String, in root: String? = nil) throws(SystemError) {
        let root = root ?? self.root
        let path = "\(root)/\(sender)"
        if Self.exists(path) { return }
        let fresh = DurableFile.temporaryName(beside: "\(staging)/\(sender)")
        try access.makeFolder(fresh)
        do { try DurableFile.renameNoReplace(fresh, path) } catch {
            rmdir(fresh)
            // Another worker made it first: that one is as good.
            guard error.code == EEXIST else { throw error }
            return
        }
        try DurableFile.syncFolder(root)
    }

    private static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// The id of the group named `name`; refused when it does not exist or when this process
    /// is not a member (it could not give files to it).
    static func groupID(_ name: String) throws(KitError) -> gid_t {
        var group = group(), result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else {
            throw .invalidInput("[publish] group '\(name)' does not exist on this machine (create it with `groupadd \(name)`)")
        }
        let gid = group.gr_gid
        var groups = [gid_t](repeating: 0, count: Int(max(getgroups(0, nil), 0)))
        let count = getgroups(Int32(groups.count), &groups)
        guard getegid() == gid || getuid() == 0 || groups.prefix(Int(max(count, 0))).contains(gid) else {
            throw .invalidInput("[publish] group '\(name)': this gateway's user is not a member, so it cannot give records to it "
                                + "(add SupplementaryGroups=\(name) to the systemd unit, or `usermod -aG \(name)` the user)")
        }
        return gid
    }
}

/// The `[publish]` table of gatehouse.toml: a folder outside the home where verified records
/// appear readable by a group of staff.
public struct PublishSettings: Sendable, Equatable {
    /// The publish folder (an absolute path).
    public var folder: String
    /// The group given read access (0640 files, 0750 folders).
    public var group: String

    /// A publish folder readable by `group`.
    public init(folder: String, group: String) {
        self.folder = folder
        self.group = group
    }
}
