import Glibc
import GatehouseCrypto
import GatehouseKit

/// `spool/failed/`: files that will never be sent, each moved into a new folder of its own
/// (`<ms since 1970>-<random>/`) with `reason.txt` beside it.
///
/// A folder is filled under a hidden name (`.<name>`) and renamed into view whole: whoever
/// watches `failed/` (a person, a script, `send --wait`) never finds a folder without its file
/// or its reason. A crash in between leaves the hidden folder; ``recover(in:)`` finishes it.
///
/// Files are moved by name bytes, so a name that is not UTF-8 (which no `String` can hold) is
/// moved too; it is kept under its escaped form (``escaped(_:)``), and the reason names it so.
package struct FailedFolder: Sendable {
    /// `spool/failed`.
    let root: String

    /// The folder `root` (`spool/failed`).
    package init(root: String) { self.root = root }

    /// Moves the entry `name` (bytes) out of `folder` into a new folder here with a reason file,
    /// both synced. Only renames: nothing is opened, so a FIFO or device moves like any file.
    /// Returns the new folder.
    @discardableResult
    package func take(_ name: [UInt8], from folder: String, reason: String, now: Int64) throws -> String {
        let target = "\(root)/\(now)-\(randomBytes(3).hexString)"
        let staged = Self.staging(target)
        try FileOperations.makeDirectory(staged, mode: 0o700)
        // The escaped form of a long name that is not UTF-8 can pass the 255-byte limit of a name:
        // such a file is kept as `item` (the reason names it), never left in the outbox for ever.
        var saved = String(validating: name, as: UTF8.self) ?? Self.escaped(name)
        var note = ""
        if saved.utf8.count > 255 {
            saved = "item"
            note = "\n(kept as \"item\": its escaped name is longer than a file name may be)"
        }
        let text = Array((reason + note + "\n").utf8)
        try FileOperations.replaceAtomically(at: "\(staged)/reason.txt", contents: text, mode: 0o600)
        // Renamed through the folder's own descriptor, opened without following a link put in
        // its place: a partner folder swapped for a link to keys/ must not move a key (RealFolder).
        let dfd = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dfd >= 0 else { throw SystemError("opening the folder", folder) }
        defer { close(dfd) }
        let source = name + [0]
        let moved = source.withUnsafeBufferPointer { from in
            from.withMemoryRebound(to: CChar.self) { renameat(dfd, $0.baseAddress!, AT_FDCWD, "\(staged)/\(saved)") }
        }
        guard moved == 0 else {
            // Nothing was moved (the entry went meanwhile: taken by an earlier offer, or by its
            // producer): no folder is left behind, hidden or not.
            let error = SystemError("moving \(folder)/\(Self.escaped(name)) to", target)
            unlink("\(staged)/reason.txt")
            rmdir(staged)
            throw error
        }
        try Self.publish(staged, as: target)
        try DurableFile.syncFolder(folder)
        return target
    }

    /// The hidden name a folder of `failed/` is filled under before it is renamed to `folder`.
    package static func staging(_ folder: String) -> String {
        let (parent, name) = DurableFile.split(folder)
        return "\(parent)/.\(name)"
    }

    /// Renames the filled folder `staged` to `target`, both synced (the rename is what makes it
    /// appear, so it must survive a crash too).
    package static func publish(_ staged: String, as target: String) throws {
        try DurableFile.syncFolder(staged)
        guard rename(staged, target) == 0 else { throw SystemError("renaming \(staged) to", target) }
        try DurableFile.syncFolder(DurableFile.split(target).folder)
    }

    /// Renames `staged` into view as `target`, or as `target-<random>` when a folder of that name
    /// is already there (a report made before a crash, the journal written after it): what it
    /// holds is never left hidden. Returns the name used.
    @discardableResult
    package static func publishBeside(_ staged: String, as target: String) throws -> String {
        let name = access(target, F_OK) == 0 ? "\(target)-\(randomBytes(3).hexString)" : target
        try publish(staged, as: name)
        return name
    }

    /// After a crash: a hidden folder in `root` that holds more than its reason (the original was
    /// moved in) is renamed into view; one that holds at most its reason is removed (the
    /// original is still where it was and is refused again, or sent).
    package static func recover(in root: String) {
        for name in FileOperations.listFolder(root) ?? [] where name.utf8.first == UInt8(ascii: ".") && name.utf8.count > 1 {
            let staged = "\(root)/\(name)", target = "\(root)/\(String(name.dropFirst()))"
            let contents = FileOperations.listFolder(staged) ?? []
            if contents.contains(where: { $0 != "reason.txt" }) {
                _ = try? publishBeside(staged, as: target)
            } else {
                unlink("\(staged)/reason.txt")
                rmdir(staged)
            }
        }
    }

    /// A name's bytes as printable text: UTF-8 kept, every byte that is not part of a UTF-8
    /// character (or is a control character) as `\xNN`, and `\` as `\\`, so the original bytes
    /// can always be read back (`M\xFCller-discharge.txt`).
    package static func escaped(_ bytes: [UInt8]) -> String {
        var text = ""
        var index = 0
        while index < bytes.count {
            // The longest UTF-8 sequence (1-4 bytes) starting here that decodes to one scalar.
            let scalar = (1...4).lazy.compactMap { length -> (Unicode.Scalar, Int)? in
                guard index + length <= bytes.count,
                      let piece = String(validating: bytes[index..<(index + length)], as: UTF8.self),
                      piece.unicodeScalars.count == 1 else { return nil }
                return (piece.unicodeScalars.first!, length)
            }.first
            if let (scalar, length) = scalar, scalar.properties.generalCategory != .control {
                text.unicodeScalars.append(contentsOf: scalar == "\\" ? ["\\", "\\"] : [scalar])
                index += length
            } else {
                let digits = Array("0123456789ABCDEF".unicodeScalars), byte = Int(bytes[index])
                text.unicodeScalars.append(contentsOf: ["\\", "x", digits[byte >> 4], digits[byte & 15]])
                index += 1
            }
        }
        return text
    }
}
