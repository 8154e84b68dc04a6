import CSystemShims
import GatehouseFormat
import GatehouseKit
import Glibc

/// An upload in progress in a mailbox, seen by the mailbox's owner: a regular file under a
/// temporary dot-name that carries an uploader tag (``UploaderTag``). Untagged files (put there
/// by the relay's operator) and anything that is not a regular file are no uploads.
struct UploadInProgress: Equatable {
    /// Its dot-name.
    let name: String
    /// Who uploads it, from the tag (never from the name, which the uploader chose).
    let uploader: ODSCode
    /// Its size when seen.
    let size: UInt64
    /// What a session has been told about: the name and the file under it. A new file under a
    /// name already told about (the upload was abandoned and begun again) is news again, even
    /// where the file system gave it the freed inode number of the old one (its birth time differs).
    let key: Key

    struct Key: Hashable {
        let name: [UInt8], device: UInt64, inode: UInt64, born: Int64, bornNanoseconds: UInt32
    }

    /// The uploads in progress in `folder`, except the names in `excluded` (this session's own);
    /// in the order of their names' bytes.
    static func scan(_ folder: String, excluding excluded: Set<String>) -> [UploadInProgress] {
        var found: [UploadInProgress] = []
        for name in FileOperations.listFolder(folder) ?? [] where MailboxPath.isTemporary(name) {
            guard !excluded.contains(where: { $0.sameBytes(name) }) else { continue }
            let path = "\(folder)/\(name)"
            var info = Glibc.stat()
            var born: Int64 = 0
            var bornNanoseconds: UInt32 = 0
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
                let uploader = UploaderTag.read(path: path),
                gatehouse_birth_time(path, &born, &bornNanoseconds) == 0
            else { continue }
            let key = Key(
                name: Array(name.utf8), device: UInt64(info.st_dev), inode: UInt64(info.st_ino), born: born,
                bornNanoseconds: bornNanoseconds)
            found.append(UploadInProgress(name: name, uploader: uploader, size: UInt64(max(0, info.st_size)), key: key))
        }
        return found.sorted { $0.key.name.lexicographicallyPrecedes($1.key.name) }
    }
}
