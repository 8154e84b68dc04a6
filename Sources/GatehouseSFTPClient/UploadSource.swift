import GatehouseKit
import GatehouseSFTP

/// What an upload reads: a complete local file, or one still being written (``GrowingFile``).
struct UploadSource {
    /// The open file.
    let fd: Int32
    /// The producer of a file still being written, if it is one.
    let growing: GrowingFile?
    /// The progress when the upload starts.
    let initial: GrowingFile.Progress

    /// A complete file of `length` bytes.
    init(fd: Int32, length: UInt64) {
        self.fd = fd
        growing = nil
        initial = GrowingFile.Progress(paths: nil, written: length, length: length, failure: nil, publish: true)
    }

    /// A file still being written by `growing`'s producer.
    init(fd: Int32, growing: GrowingFile) {
        self.fd = fd
        self.growing = growing
        initial = growing.progress
    }

    /// Returns once the producer lets the upload be published; throws if it never will.
    func awaitRelease() async throws {
        guard let growing else { return }
        var seen = growing.progress
        while seen.publish == nil {
            seen = await growing.next(after: seen)
            try Task.checkCancellation()
        }
        guard seen.publish == true, seen.failure == nil else {
            throw SFTPClientError.local("not published: \(seen.failure ?? "the producer withheld it")")
        }
    }
}

/// What ends one wait of a pipelined upload.
enum UploadEvent: Sendable {
    /// A WRITE's reply.
    case reply(SFTPMessage)
    /// The file being uploaded grew (or its producer finished or gave up).
    case grew(GrowingFile.Progress)
}
