#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GatehouseCrypto
import GatehouseFormat

/// Reads secret key files safely: no links, regular files only, refused when group or others
/// have any permission on them, and read into wiped storage.
enum SecretKeyReader {
    /// Calls `decode` with the contents of the key file at `path`; nil when there is no such file.
    static func read<Key: ~Copyable>(
        at path: String, _ decode: (UnsafeRawBufferPointer) throws(FormatError) -> Key
    ) throws(KitError) -> Key? {
        // O_NOFOLLOW: a link planted in keys/ must not redirect us to some other file.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            if errno == ELOOP { throw .keyFileInvalid("\(path) is a symbolic link; a secret key file must be a regular file", path: path) }
            throw FileOperations.ioError("could not open", path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileOperations.ioError("could not inspect", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw .keyFileInvalid("\(path) is not a regular file", path: path)
        }
        // Checked on the open descriptor (not the name), so the file checked is the file read.
        try checkMode(info, path: path)
        // The read buffer is SecretBytes, which zeroes itself when it goes away, so no copy of
        // the secret text outlives this function.
        // Large enough for a plain key file and for a passphrase-protected one.
        let limit = max(SecretKeyFile.maxLength, ProtectedKeyFile.maxLength)
        var buffer = SecretBytes(zeroedCount: limit + 1)
        var total = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { out in
            while total < out.count {
                let n = readChunk(fd, out.baseAddress! + total, out.count - total)
                if n < 0 && errno == EINTR { continue }
                if n < 0 { failure = errno; return }
                if n == 0 { return }
                total += n
            }
        }
        guard failure == 0 else {
            errno = failure
            throw FileOperations.ioError("could not read", path)
        }
        guard total <= limit else {
            throw .keyFileInvalid("\(path) is too large to be a Gatehouse secret key file", path: path)
        }
        var key: Key? = nil
        do {
            try buffer.withUnsafeBytes { (all) throws(FormatError) in
                key = try decode(UnsafeRawBufferPointer(rebasing: all[0..<total]))
            }
            return key
        } catch {
            throw .keyFileInvalid("\(path): \(error.detail)", path: path)
        }
    }
}

extension SecretKeyReader {
    /// Refuses a key file on which group or others have any permission bit.
    static func checkMode(_ info: stat, path: String) throws(KitError) {
        let permissions = UInt32(info.st_mode) & 0o777
        guard permissions & 0o077 == 0 else {
            throw .unsafePermissions(
                "\(path) has mode 0\(String(permissions, radix: 8)): group or others have access to this secret key; run `chmod 600 \(path)`",
                path: path)
        }
    }

    /// Checks the mode of every `*.key` file in `folder` without reading any secret, so that any
    /// use of the home folder notices an exposed key, not only the commands that load one.
    static func checkPermissions(ofKeysIn folder: String, names: [String]) throws(KitError) {
        for name in names.sorted() where name.hasByteSuffix(".key") {
            let path = folder + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            try checkMode(info, path: path)
        }
    }
}

#if canImport(Glibc)
private let readChunk = Glibc.read
#elseif canImport(Darwin)
private let readChunk = Darwin.read
#endif
