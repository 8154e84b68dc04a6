import Synchronization
public import GatehouseFormat

/// Identity cards already parsed and verified, by their exact text.
///
/// A gateway reads its own card and its partners' cards several times for every bundle; the
/// files are still read each time (so a replaced card takes effect at once), but text seen
/// before is not parsed and its signatures are not checked again. Parsing is a pure function of
/// the text, so the answer is the same.
public enum ParsedCards {
    private static let cache = Mutex<[String: IdentityCard]>([:])
    /// Distinct card texts kept (own card, partners', and their versions).
    static let capacity = 256

    /// ``IdentityCard/parse(_:)``, remembered.
    public static func parse(_ text: String) throws(FormatError) -> IdentityCard {
        if let card = cache.withLock({ $0[text] }) { return card }
        let card = try IdentityCard.parse(text)
        cache.withLock { cards in
            if cards.count >= capacity { cards.removeAll() }
            cards[text] = card
        }
        return card
    }
}
