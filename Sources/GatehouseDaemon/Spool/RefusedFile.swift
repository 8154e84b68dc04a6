import GatehouseKit

/// A file or pack the gateway refused at the outbox and moved to `spool/failed/<ms>-<hex>/` (see
/// ``FailedFolder``), read back for `gatehouse status`: such a file never became a bundle, so the
/// journal does not know it, and without this it would appear nowhere.
///
/// Bundle-level failures (`spool/failed/<bundle id>/`) are not listed here: the journal shows
/// them as failed bundles.
public struct RefusedFile: Sendable, Equatable {
    /// The folder's name in `spool/failed/` (`1764915200123-a1b2c3`).
    public let folder: String
    /// When it was refused, in milliseconds since 1970 (the folder name's first part).
    public let refusedAt: Int64
    /// The names kept in the folder (the refused file or pack; escaped when not UTF-8).
    public let names: [String]
    /// The reason the gateway gave (`reason.txt`), or a note that it cannot be read.
    public let reason: String

    /// The digits of the hex part of a folder name.
    private static let hexDigits = Set("0123456789abcdef".utf8)

    /// A reason file is a line or two; a longer one is cut (it is shown, never parsed).
    static let reasonLimit = 4096

    /// Every refused file in `failed` (`spool/failed`), newest first; empty when the folder does
    /// not exist or cannot be listed.
    public static func list(in failed: String) -> [RefusedFile] {
        let found = (FileOperations.listFolderEntries(failed) ?? []).compactMap { entry -> RefusedFile? in
            guard let name = entry.name, let at = refusedAt(folderName: name) else { return nil }
            return read("\(failed)/\(name)", folder: name, at: at)
        }
        return found.sorted { ($0.refusedAt, $0.folder) > ($1.refusedAt, $1.folder) }
    }

    /// The time in a folder name `<ms>-<hex>` as ``FailedFolder`` makes them; nil for any other
    /// name (a bundle id, a stray file).
    static func refusedAt(folderName: String) -> Int64? {
        let parts = folderName.utf8.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard parts.count == 2, (1...19).contains(parts[0].count), !parts[1].isEmpty,
              parts[0].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              parts[1].allSatisfy({ hexDigits.contains($0) }) else { return nil }
        return Int64(String(decoding: parts[0], as: UTF8.self))
    }

    private static func read(_ path: String, folder: String, at: Int64) -> RefusedFile? {
        guard let entries = FileOperations.listFolderEntries(path) else { return nil }
        let names = entries.map { $0.name ?? FailedFolder.escaped($0.bytes) }.filter { $0 != "reason.txt" }.sorted()
        let reason: String
        do {
            let bytes = try FileOperations.read(at: "\(path)/reason.txt", limit: reasonLimit)
            reason = bytes.map { String(decoding: $0, as: UTF8.self) } ?? "(no reason.txt)"
        } catch {
            reason = "(reason.txt cannot be read: \(error.message))"
        }
        // One line: the text form prints it in a table cell, where other characters that could
        // hide or reorder the text are escaped (RefusedFilesReport).
        var scalars = String.UnicodeScalarView(reason.unicodeScalars.map { $0 == "\n" ? " " : $0 })
        while scalars.last == " " { scalars.removeLast() }
        let text = String(scalars)
        return RefusedFile(folder: folder, refusedAt: at, names: names, reason: text)
    }
}

