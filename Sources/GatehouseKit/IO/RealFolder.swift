import Glibc

/// Paths into a folder that others can write (the outbox), reached without following a symbolic
/// link in place of the folder itself.
///
/// `O_NOFOLLOW` guards only a path's last component: with `outbox/A81001` swapped for a link to
/// `keys/`, `outbox/A81001/signing-….key` opened or renamed by path reaches the secret key. So
/// the folder is opened once with `O_DIRECTORY | O_NOFOLLOW`, and the file is then reached through
/// that descriptor (`renameat`, or `/proc/self/fd/N/name`, which the kernel resolves from the
/// opened folder itself, never from its path again).
public enum RealFolder {
    /// Runs `body` with the descriptor of the folder holding `path` and the file's name in it.
    /// Throws `ELOOP` or `ENOTDIR` (as a ``SystemError``) when that folder is a link or no folder.
    public static func withFolder<T>(of path: String, _ body: (Int32, String) throws -> T) throws -> T {
        let (folder, name) = DurableFile.split(path)
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("opening the folder", folder) }
        defer { close(fd) }
        return try body(fd, name)
    }

    /// The path that reaches `name` inside the open folder `fd`, whatever its path says now.
    public static func path(in fd: Int32, _ name: String) -> String { "/proc/self/fd/\(fd)/\(name)" }

    /// Renames `from` (in a folder others can write) to `to`, refusing when the folder holding
    /// `from` is a symbolic link.
    public static func rename(_ from: String, to: String) throws {
        try withFolder(of: from) { fd, name in
            guard renameat(fd, name, AT_FDCWD, to) == 0 else { throw SystemError("moving \(from) to", to) }
        }
    }
}
