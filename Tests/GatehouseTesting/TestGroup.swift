import Glibc

/// A group this process may give files to, for publishing tests that must run unprivileged: a
/// supplementary group of the user when it has one, else its own group.
public func publishingTestGroup() -> gid_t {
    var groups = [gid_t](repeating: 0, count: Int(max(getgroups(0, nil), 0)))
    let count = Int(max(getgroups(Int32(groups.count), &groups), 0))
    return groups.prefix(count).first { $0 != getegid() } ?? getegid()
}

/// The name of group `gid`, when it has one.
public func groupName(_ gid: gid_t) -> String? {
    guard let entry = getgrgid(gid), let name = entry.pointee.gr_name else { return nil }
    return String(cString: name)
}

/// The permission bits and group of `path` (not following a link), or nil when nothing is there.
public func modeAndGroup(_ path: String) -> (mode: mode_t, group: gid_t)? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return (info.st_mode & 0o7777, info.st_gid)
}
