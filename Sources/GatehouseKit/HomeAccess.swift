import Glibc

/// Tells "this home has no such file" from "this user may not read it", for the read-only
/// commands (`inbox`, `status`, `receipt show`) that staff and operators run as themselves.
public enum HomeAccess {
    /// True when `path` (inside `home`) exists and can be read, false when it does not exist;
    /// `permissionDenied` naming the folder that refuses and its group when it cannot be read.
    public static func readable(_ path: String, in home: GatehouseHome) throws(KitError) -> Bool {
        if access(path, R_OK) == 0 { return true }
        let code = errno
        guard code == EACCES || code == EPERM else { return false }
        // The first folder on the way that this user may not enter (or the file itself).
        var culprit = path
        for folder in [home.path, DurableFile.split(path).folder] where access(folder, X_OK) != 0 {
            culprit = folder
            break
        }
        var info = stat()
        let group = stat(culprit, &info) == 0 ? groupName(info.st_gid) : nil
        let mode = group == nil ? "" : ", mode 0" + String(info.st_mode & 0o7777, radix: 8)
        throw .permissionDenied(
            "permission denied reading \(path): \(culprit) is not open to this user"
                + (group.map { " (group '\($0)'\(mode))" } ?? ""),
            path: culprit, group: group)
    }

    private static func groupName(_ gid: gid_t) -> String? {
        var group = group(), result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getgrgid_r(gid, &group, &buffer, buffer.count, &result) == 0, result != nil, let name = group.gr_name else { return nil }
        return String(cString: name)
    }
}
