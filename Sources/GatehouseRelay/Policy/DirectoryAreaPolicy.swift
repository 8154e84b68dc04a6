import GatehouseFormat

/// The rules of the relay's published directory (docs/DIRECTORY.md §5): the folder `directory/`
/// beside the mailboxes, which every registered organisation may read and no one may change
/// over SFTP (only the network authority's `network publish --to` writes it, on the relay's disk).
///
/// Paths in it are `/directory/checkpoint`, `/directory/witness/HEXID` and `/directory/` followed
/// by a canonical tile path;
/// every other name there exists for no one.
public enum DirectoryAreaPolicy {
    /// The first path element of the area. Lower case, so it is never an ODS code.
    public static let prefix = "directory"

    /// The answer to any change attempted there.
    public static let readOnly =
        "the published directory is read-only: its checkpoint and tiles can be opened for "
        + "reading, read, looked at and closed, nothing else"

    /// The decision for `request` in the area.
    public static func decision(_ request: MailboxRequest) -> MailboxDecision {
        switch request {
        case .realpath, .limits, .openRead, .read, .fstat, .close, .stat: .allowed
        default: .refused(readOnly)
        }
    }

    /// True when `text` names something in the area (valid or not): `directory` or `/directory`
    /// as its first element.
    public static func isInArea(_ text: String) -> Bool {
        let parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        let first = parts.first.map { String(decoding: $0, as: UTF8.self) }
        let second = parts.dropFirst().first.map { String(decoding: $0, as: UTF8.self) }
        return first?.sameBytes(prefix) == true || (first?.sameBytes(".") == true && second?.sameBytes(prefix) == true)
    }

    /// The file `text` names in the area, relative to the area's folder (`checkpoint` or a
    /// canonical tile path); nil for anything else.
    public static func file(_ text: String) -> String? {
        var rest = Substring(text)
        if rest.hasBytePrefix("/") { rest = rest.dropFirst() }
        guard rest.hasBytePrefix(prefix + "/") else { return nil }
        let name = String(rest.dropFirst(prefix.utf8.count + 1))
        if name.sameBytes("checkpoint") { return name }
        // A witness's cosigned checkpoint: `witness/` and its key id, 8 lower-case hex digits.
        if name.hasBytePrefix("witness/"), case let id = name.utf8.dropFirst(8), id.count == 8,
            id.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        {
            return name
        }
        return (try? TilePath.parse(name))?.description
    }
}
