import GatehouseJournal
import GatehouseKit

/// An outgoing bundle's id as a person types it: all 32 hex digits, or the first few, as git
/// takes a commit's (`gatehouse status 1b7d`, `gatehouse receipt show 1b7ddb06`).
enum BundleReference {
    /// The fewest digits taken, as git's shortest abbreviation: fewer would rarely be unique.
    static let minimumDigits = 4
    /// Digits in a whole bundle id.
    static let fullDigits = 32

    /// The outgoing bundle `text` names in `journal`: the one whose id is `text` or starts with
    /// it. Refuses text that is not 4 to 32 hex digits, a prefix no id starts with, and one
    /// several ids start with (naming a few of them).
    static func outgoing(_ text: String, in journal: any Journal, home: GatehouseHome) throws -> OutgoingRecord {
        let prefix = try self.prefix(text)
        // Up to a few more than one: enough to tell unique from ambiguous and to name examples.
        let matches = try journal.outgoingIDs(startingWith: prefix, limit: 6)
        guard let only = matches.first else {
            throw CommandFailure(
                status: .invalidInput, message: "no outgoing bundle in \(home.path) has an id starting with \(prefix)",
                hint: "`gatehouse status` lists the outgoing bundles; `gatehouse inbox` lists what was received")
        }
        guard matches.count == 1 else {
            let shown = matches.prefix(5).map(\.hex).joined(separator: ", ") + (matches.count > 5 ? ", …" : "")
            let count = matches.count > 5 ? "more than 5" : String(matches.count)
            throw CommandFailure(
                status: .invalidInput,
                message: "\(prefix) is ambiguous: \(count) outgoing bundles have ids starting with it (\(shown))",
                hint: "give more digits of the id")
        }
        guard let record = try journal.outgoing(only) else {
            throw CommandFailure(status: .invalidInput, message: "outgoing bundle \(only) vanished from the journal",
                                 hint: "run the command again")
        }
        return record
    }

    /// `text` in lower case, checked to be 4 to 32 hex digits (before any file is opened).
    static func prefix(_ text: String) throws -> String {
        let prefix = text.lowercased()
        let isHex = prefix.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        guard isHex, (minimumDigits...fullDigits).contains(prefix.utf8.count) else {
            throw CommandFailure(
                status: .invalidInput,
                message: "\(text.debugDescription) is not a bundle id: give its \(fullDigits) hex digits, or the first "
                    + "\(minimumDigits) or more",
                hint: "`gatehouse status` lists the outgoing bundles and their ids")
        }
        return prefix
    }
}
