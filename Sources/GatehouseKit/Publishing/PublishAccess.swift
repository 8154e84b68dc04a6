import Glibc

/// Who may read published records: the modes and the group every published file and folder gets
/// while it is still private, before its name appears where staff look.
public struct PublishAccess: Sendable, Equatable {
    /// The mode of each published file.
    public let fileMode: mode_t
    /// The mode of each published folder.
    public let folderMode: mode_t
    /// The group given read access, or nil (the gateway's user alone).
    public let group: gid_t?
    /// The user given each file and folder, or nil (whoever creates it). Set only by root
    /// writing for the gateway's user (`gatehouse send` run as root).
    public private(set) var owner: uid_t? = nil

    /// Readable by the gateway's user only: 0600 files in 0700 folders (the spool's default).
    public static let `private` = PublishAccess(fileMode: 0o600, folderMode: 0o700, group: nil)

    /// Readable by the members of `group`: 0640 files in 0750 folders.
    public static func readable(by group: gid_t) -> PublishAccess {
        PublishAccess(fileMode: 0o640, folderMode: 0o750, group: group)
    }

    /// Private (0600 files in 0700 folders) and given to `owner` and `group`: what root writes for
    /// the gateway's user.
    public static func `private`(owner: uid_t, group: gid_t) -> PublishAccess {
        var access = PublishAccess(fileMode: 0o600, folderMode: 0o700, group: group)
        access.owner = owner
        return access
    }

    /// Gives a newly created descriptor its group and mode. Called while the name is still in a
    /// private staging folder, so no one ever sees it with other permissions.
    public func apply(toDescriptor fd: Int32, folder: Bool, path: String) throws(SystemError) {
        guard let group else { return }
        // uid -1 leaves the owner as it is (only root may give a file away). Membership of the
        // group is what permits this as an unprivileged user (systemd's SupplementaryGroups=).
        if fchown(fd, owner ?? uid_t.max, group) != 0 {
            throw SystemError("giving \(owner.map { "owner \($0) and " } ?? "")group \(group) to", path)
        }
        // Set explicitly, not through the creation mode alone: the umask (0077 under the unit)
        // would strip the group's bits.
        if fchmod(fd, folder ? folderMode : fileMode) != 0 { throw SystemError("setting the mode of", path) }
    }

    /// Creates the folder `path` (in a private parent) with this access.
    public func makeFolder(_ path: String) throws(SystemError) {
        guard mkdir(path, 0o700) == 0 else { throw SystemError("creating folder", path) }
        guard group != nil else { return }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("opening folder", path) }
        defer { close(fd) }
        try apply(toDescriptor: fd, folder: true, path: path)
    }
}
