public import GatehouseFormat

/// A path a client may name on the mailbox server: `<ODS>/<name>` (a leading `/` allowed), or
/// `<ODS>` for the mailbox folder itself. Nothing else exists for a client: no `..`, no deeper
/// folders, no links, no names with control characters.
public struct MailboxPath: Hashable, Sendable, CustomStringConvertible {
    /// The mailbox's organisation.
    public let org: ODSCode
    /// The file's name, nil for the mailbox folder itself.
    public let name: String?

    /// Parses a client's path; nil when it names nothing a client may touch.
    public init?(_ text: String) {
        // Split on the byte '/', not on Characters (a '/' followed by a combining mark is one Character).
        var parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { String(decoding: $0, as: UTF8.self) }
        if parts.first?.sameBytes(".") == true { parts.removeFirst() }
        guard (1...2).contains(parts.count), let org = try? ODSCode(parts[0]) else { return nil }
        self.org = org
        if parts.count == 2 {
            let name = parts[1]
            // Temporary names start with a dot; apart from that the file-name rules apply.
            let checked = Self.isTemporary(name) ? String(decoding: name.utf8.dropFirst(), as: UTF8.self) : name
            guard !checked.isEmpty, (try? FileNameRule.validate(checked)) != nil, name.utf8.count <= 255 else { return nil }
            self.name = name
        } else {
            self.name = nil
        }
    }

    // Equal only with the same bytes: Swift's String equality treats `.é` and `.e` + U+0301 as
    // one name, the file system as two files, and a session that created one must not be taken
    // for the creator of the other (its uploader could remove or publish another's upload).
    public static func == (a: Self, b: Self) -> Bool {
        a.org == b.org && a.name.map { Array($0.utf8) } == b.name.map { Array($0.utf8) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(org)
        hasher.combine(name.map { Array($0.utf8) })
    }

    /// True for a transfer in progress (a dot-name).
    public var isTemporary: Bool { name.map(Self.isTemporary) ?? false }

    /// True when `name` is a transfer in progress: its first byte is a dot. (Not its first
    /// Character: ".\u{301}x" is one Character that is not ".".)
    public static func isTemporary(_ name: String) -> Bool { name.utf8.first == UInt8(ascii: ".") }

    public var description: String { name.map { "/\(org.value)/\($0)" } ?? "/\(org.value)" }
}
