public import GatehouseFormat
import Glibc

/// Reads a file that a download is still writing, as its ``GrowingFile`` reports it: the bundle
/// is opened while it downloads. A read waits (blocking its thread, so run it off the concurrency
/// pool) until more bytes are written; the end of input is reported only once the download
/// has finished with its full length, and a download that fails makes every read throw: a
/// bundle cut short is never judged as truncated, it is fetched again.
public final class FollowingSource: RewindableByteSource {
    private let growing: GrowingFile
    private var fd: Int32 = -1
    private var offset: UInt64 = 0

    /// A reader of the file `growing` reports on.
    public init(_ growing: GrowingFile) { self.growing = growing }

    deinit { if fd >= 0 { close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let seen = growing.progress
            if let failure = seen.failure { throw KitError.io("the download stopped: \(failure)") }
            if fd < 0, let paths = seen.paths {
                // Opened once: the download renames its temporary file when complete, and this
                // descriptor goes on reading the same file.
                fd = open(paths.temporary, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                if fd < 0 { fd = open(paths.final, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
                guard fd >= 0 else { throw SystemError("opening the download", paths.temporary) }
            }
            if fd >= 0 && offset < seen.written {
                let count = Int(min(UInt64(buffer.count), seen.written - offset))
                let n = pread(fd, buffer.baseAddress, count, off_t(offset))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    if n == 0 { throw KitError.io("the download ends at \(offset) bytes on disk, though \(seen.written) were reported") }
                    throw SystemError("reading the download", seen.paths?.temporary ?? "")
                }
                offset += UInt64(n)
                return n
            }
            if let length = seen.length, offset >= length { return 0 }
            growing.waitBlocking(after: seen)
        }
    }

    public func rewindToStart() { offset = 0 }
}
