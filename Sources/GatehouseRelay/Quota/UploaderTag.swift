import CSystemShims
import GatehouseFormat
import GatehouseKit
import Glibc

/// Who uploaded a mailbox file: the extended attribute `user.gatehouse.from`, holding the
/// uploading organisation's ODS code, set on the descriptor when the file is created (so no
/// file of a session ever exists without it) and kept by the rename that publishes it.
///
/// It is what quotas count per sender, and what lets a sender's retry of a delivery whose
/// answer was lost count as delivered without telling anyone else anything: only a file the
/// same organisation uploaded, with the same bytes, is "already delivered". A file without it
/// (put there by the relay's operator, or before this rule) belongs to no sender.
///
/// ext4, XFS, Btrfs and tmpfs (Linux 6.6+) keep user extended attributes. On a file system that
/// refuses them uploads are refused (fail closed), with a line in the refusal log.
enum UploaderTag {
    static let name = "user.gatehouse.from"

    /// Tags the file open at `fd` as uploaded by `org`; the errno on failure.
    static func set(_ fd: Int32, _ org: ODSCode) -> Int32? {
        let value = Array(org.value.utf8)
        let done = value.withUnsafeBytes { fsetxattr(fd, name, $0.baseAddress, $0.count, 0) }
        return done == 0 ? nil : errno
    }

    /// The uploader of the file open at `fd`, if tagged.
    static func read(_ fd: Int32) -> ODSCode? {
        var value = [UInt8](repeating: 0, count: 16)
        let n = value.withUnsafeMutableBytes { fgetxattr(fd, name, $0.baseAddress, $0.count) }
        return n > 0 ? try? ODSCode(String(decoding: value[0..<n], as: UTF8.self)) : nil
    }

    /// The uploader of the file at `path` (not following a link), if tagged.
    static func read(path: String) -> ODSCode? {
        var value = [UInt8](repeating: 0, count: 16)
        let n = value.withUnsafeMutableBytes { lgetxattr(path, name, $0.baseAddress, $0.count) }
        return n > 0 ? try? ODSCode(String(decoding: value[0..<n], as: UTF8.self)) : nil
    }
}

extension MailboxUsage {
    /// Counts the mailbox folder `folder` on disk: every file, and those `sender` uploaded
    /// (its unfinished uploads included, at their current size).
    static func measure(_ folder: String, sender: ODSCode) -> MailboxUsage {
        var usage = MailboxUsage()
        for name in FileOperations.listFolder(folder) ?? [] {
            let path = "\(folder)/\(name)"
            var info = Glibc.stat()
            guard lstat(path, &info) == 0 else { continue }
            let size = UInt64(max(0, info.st_size))
            usage.files += 1
            usage.bytes += size
            if UploaderTag.read(path: path) == sender {
                usage.senderFiles += 1
                usage.senderBytes += size
            }
        }
        return usage
    }
}
