import Glibc
import GatehouseFormat
import GatehouseKit

/// A pack folder in the outbox, opened the one safe way (``FolderHandle``: no link followed,
/// everything relative to its descriptor) and judged whole, before it is claimed.
///
/// A pack travels whole or not at all: one file that may not be sent refuses the pack, and one
/// still being written holds it back. Every file in it gets the checks a file dropped alone gets
/// (``OriginalFile``): opened once with `O_NOFOLLOW | O_NONBLOCK`, a regular file with one name
/// that nobody has open for writing, with a publishable name. A pack holds files only, no
/// folders; its optional `.gatehouse.toml` (``PackSidecar``) says what it is about.
enum PackFolder {
    /// A file of the pack, as claimed.
    struct Member: Equatable {
        let name: String
        let size: Int64
    }

    /// What was found.
    enum Verdict {
        /// Complete: its files (in byte order of their names) and what it is about.
        case ready([Member], PackContext)
        /// Not yet: something in it is still being written.
        case busy(String)
        /// Never to be sent as it is, with the reason.
        case refused(String)
        /// Nothing is at the path any more.
        case vanished
    }

    /// Opens and judges the pack folder at `path`.
    static func judge(_ path: String, workflows: WorkflowSettings, writers: OpenWriterCheck) -> Verdict {
        let folder: FolderHandle
        let entries: [FolderHandle.Entry]
        do {
            folder = try FolderHandle(path: path)
            entries = try folder.entries()
        } catch {
            if error.code == ENOENT { return .vanished }
            if let type = error.foundType { return .refused("it is \(type.phrase) now, not a folder") }
            return .refused("it cannot be read: \(String(cString: strerror(error.code)))")
        }
        var members: [Member] = []
        var context = PackContext(workflow: workflows.defaultWorkflow)
        for entry in entries {
            guard let name = entry.name else {
                return .refused("it holds a file whose name is not UTF-8 text, "
                    + "\"\(FailedFolder.escaped(entry.bytes))\" (each byte that is not is shown as \\xNN); "
                    + "rename it with a UTF-8 name")
            }
            let shown = ReadableText.shown(name)
            if name == PackSidecar.name {
                switch sidecar(in: folder, workflows: workflows) {
                case .success(let found): context = found
                case .failure(let refusal): return .refused(refusal.message)
                }
                continue
            }
            // A producer filling the folder in place writes under such names, then renames.
            guard !OutboxScanner.isIgnored(name) else {
                return .busy("it holds \(shown), a transfer in progress "
                    + "(a name starting with a dot or ending in .part)")
            }
            guard entry.type != .directory else {
                return .refused("it holds a folder, \(shown); a pack holds files only")
            }
            do { try FileNameRule.validate(name) } catch { return .refused("its \(error.detail)") }
            switch OriginalFile.open(name, in: folder, writers: writers) {
            case .ready(let source): members.append(Member(name: name, size: Int64(source.size)))
            case .busy(let reason): return .busy("\(shown) is \(reason)")
            case .refused(let reason): return .refused("\(shown) is \(reason)")
            case .vanished: return .busy("\(shown) went away while the pack was read")
            }
        }
        guard !members.isEmpty else { return .refused("it holds no files to send") }
        // A folder moves into the work folder by renaming it, which needs write permission on the
        // folder itself (its `..` changes): checked before anything is journalled.
        guard access(path, W_OK) == 0 else {
            return .refused("the gateway cannot move it: the folder is not writable by the gateway's user "
                + "(create pack folders writable by it, e.g. with the gateway's group and mode 0770)")
        }
        guard members.count <= PayloadLayout.maxFiles else {
            return .refused("it holds \(members.count) files; a pack holds at most \(PayloadLayout.maxFiles)")
        }
        do { try FileNameRule.checkDistinct(members.map(\.name)) } catch { return .refused(error.detail) }
        return .ready(members, context)
    }

    private struct Refusal: Error { let message: String }

    /// The pack's `.gatehouse.toml`, read through the folder's descriptor: a regular file with one
    /// name (a link to a file elsewhere must not be read as the pack's own description).
    private static func sidecar(in folder: FolderHandle, workflows: WorkflowSettings) -> Result<PackContext, Refusal> {
        let source: FileSource
        do { source = try folder.open(PackSidecar.name) } catch {
            let what = error.foundType?.phrase ?? "unreadable (\(String(cString: strerror(error.code))))"
            return .failure(Refusal(message: "its \(PackSidecar.name) is \(what); it must be a regular file"))
        }
        guard source.status.linkCount == 1 else {
            return .failure(Refusal(message: "its \(PackSidecar.name) is a hard link; it must be a file with one name"))
        }
        guard source.size <= UInt64(PackSidecar.maxLength) else {
            return .failure(Refusal(message: "its \(PackSidecar.name) is longer than \(PackSidecar.maxLength) bytes"))
        }
        do {
            var bytes = [UInt8](repeating: 0, count: PackSidecar.maxLength + 1)
            var count = 0
            while count < bytes.count {
                let n = try bytes.withUnsafeMutableBytes {
                    try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[count...]))
                }
                if n == 0 { break }
                count += n
            }
            return .success(try PackSidecar.parse(Array(bytes[..<count]), workflows: workflows))
        } catch let error as KitError {
            return .failure(Refusal(message: error.message))
        } catch {
            return .failure(Refusal(message: "its \(PackSidecar.name) cannot be read: \(error)"))
        }
    }
}
