import Glibc
import GatehouseKit

/// A record's original (in the outbox, or claimed into the work folder) opened the one safe way
/// and judged on that descriptor alone.
///
/// The outbox is writable by producers, so a path may be swapped at any moment: for a link to a
/// secret key, a FIFO that blocks whoever opens it, or a hard link to a file elsewhere. So the
/// path is opened once with `O_NOFOLLOW | O_NONBLOCK` (a link is refused by the kernel, a FIFO
/// opens without waiting), everything is checked with `fstat` on that descriptor, and the bundle
/// is sealed from the same descriptor: what is checked is what is sent.
enum OriginalFile {
    /// What was found.
    enum Verdict {
        /// A regular file with one name that nobody has open for writing: seal from `source`.
        case ready(FileSource)
        /// Still open for writing: not yet (the reason says how that was found).
        case busy(String)
        /// Never to be sent, with the reason.
        case refused(String)
        /// Nothing is at the path any more.
        case vanished
    }

    /// Opens `path` and judges it; `writers` answers the open-for-writing question.
    static func open(_ path: String, writers: OpenWriterCheck) -> Verdict {
        judge(path, writers: writers) {
            // Through the folder's own descriptor: a partner folder swapped for a link to keys/
            // is refused, never followed (RealFolder).
            try RealFolder.withFolder(of: path) { fd, name in
                do { return try FileSource(path: RealFolder.path(in: fd, name), followLinks: false) } catch { throw error }
            }
        }
    }

    /// Opens the entry `name` of a pack folder relative to its descriptor, and judges it.
    static func open(_ name: String, in folder: FolderHandle, writers: OpenWriterCheck) -> Verdict {
        judge(name, writers: writers) { try folder.open(name) }
    }

    private static func judge(_ path: String, writers: OpenWriterCheck, opening: () throws -> FileSource) -> Verdict {
        let source: FileSource
        do { source = try opening() } catch let error as SystemError where error.operation == "opening the folder" {
            if error.code == ENOENT { return .vanished }
            return .refused("its folder \(DurableFile.split(path).folder) is a symbolic link or not a folder; "
                            + "records are taken only from real folders")
        } catch let error as SystemError {
            if error.code == ENOENT { return .vanished }
            if let type = error.foundType {
                return .refused("\(type.phrase), not a regular file; only regular files are sent")
            }
            return .refused("unreadable: \(String(cString: strerror(error.code)))")
        } catch {
            return .refused("unreadable: \(error)")
        }
        // A second name means the same bytes are reachable from elsewhere: a hard link made to a
        // file outside the outbox (a key, another patient's record) would send that file.
        guard source.status.linkCount == 1 else {
            let names = source.status.linkCount
            return .refused("a hard link (the file has \(names) names); only files with one name are sent")
        }
        switch writers.check(source) {
        case .writer(let method): return .busy("still open for writing (found by \(method.rawValue))")
        // Nobody we can see is writing, or nobody is: the stable window and IN_CLOSE_WRITE,
        // already waited for by the outbox watcher, are the rest of the defence.
        case .noWriter, .unknown: return .ready(source)
        }
    }
}
