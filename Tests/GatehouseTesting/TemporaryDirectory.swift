import Foundation

/// A fresh folder under the system's temporary folder, removed with everything in it when the
/// value goes away. Keep it alive (use it) for as long as the test needs the files.
public final class TemporaryDirectory: Sendable {
    /// The folder's absolute path.
    public let path: String

    /// Creates a new, empty, private folder whose name starts with `prefix`.
    public init(prefix: String = "gatehouse-test") throws {
        let base = FileManager.default.temporaryDirectory.path
        let path = base + "/\(prefix)-\(UUID().uuidString.lowercased())"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        self.path = path
    }

    /// `path/relative`.
    public func appending(_ relative: String) -> String { path + "/" + relative }

    /// Writes `bytes` to `path/relative` and returns that path.
    @discardableResult
    public func write(_ relative: String, _ bytes: [UInt8]) throws -> String {
        let file = appending(relative)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes `bytes` to a new file at `path` through a descriptor opened with `O_CLOEXEC`, and
/// closes it. (Foundation's `Data.write` may leave the descriptor inheritable for a moment: a
/// process another test forks then can hold the file open for writing, and the gateway rightly
/// refuses to claim a file someone is still writing.)
public func writeClosed(_ bytes: [UInt8], to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw GatehouseProcess.LaunchError(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        guard n > 0 else { throw GatehouseProcess.LaunchError(description: "cannot write \(path): \(String(cString: strerror(errno)))") }
        done += n
    }
}
