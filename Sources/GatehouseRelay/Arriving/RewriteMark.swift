import CSystemShims
import Glibc

/// The mark `user.gatehouse.rewritten` on an upload whose sender wrote somewhere other than at
/// the end of what it had written: over bytes already written, or past a hole. The mailbox's
/// owner may have read those bytes (or the hole's zeros) while the upload was in progress, so
/// `mailbox-upload-state@gatehouse` says so, and what it read is not used. Set by the sender's
/// session before the write, so that whoever asks after the write sees it. Gatehouse's client
/// and OpenSSH's `sftp` write in order and never set it.
enum RewriteMark {
    static let name = "user.gatehouse.rewritten"

    /// Marks the upload open at `fd`; the errno on failure.
    static func set(_ fd: Int32) -> Int32? {
        let value: [UInt8] = [0x31]
        let done = value.withUnsafeBytes { fsetxattr(fd, name, $0.baseAddress, $0.count, 0) }
        return done == 0 ? nil : errno
    }

    /// True when the file open at `fd` carries the mark.
    static func isSet(_ fd: Int32) -> Bool {
        var value: [UInt8] = [0]
        return value.withUnsafeMutableBytes { fgetxattr(fd, name, $0.baseAddress, $0.count) } > 0
    }
}
