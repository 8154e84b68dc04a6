import Foundation
public import GatehouseFormat

extension PartnerStore {
    /// Where a partner's card came from.
    public enum CardSource: Sendable, Equatable {
        /// Pinned in `partners/` after a fingerprint check.
        case pinned
        /// Listed in the verified directory, at this entry index.
        case directory(index: UInt64)
    }

    /// The card for `org`: the pinned one when there is one (a pinned card always wins), else the
    /// directory's, when the gateway joined a network that admits `org` at `now`: the listing's
    /// own card, or the newer one `org` sent since, chained from the listed root
    /// (``updateListed(with:now:)``).
    public func knownCard(
        for org: ODSCode, now: UInt64 = KeyStore.now()
    ) throws(KitError) -> (card: IdentityCard, source: CardSource)? {
        if let pinned = try card(for: org) { return (pinned, .pinned) }
        let directory = DirectoryClient(home: home)
        guard directory.hasJoined, let listed = try directory.partner(org, now: now) else { return nil }
        return (try rotatedCard(over: listed.card) ?? listed.card, .directory(index: listed.index))
    }

    /// ``knownCard(for:now:)`` without its source.
    public func resolvedCard(for org: ODSCode) throws(KitError) -> IdentityCard? { try knownCard(for: org)?.card }

    /// ``resolvedCard(for:)``; `unknownPartner` when neither a pinned card nor the directory names `org`.
    public func requireResolvedCard(for org: ODSCode) throws(KitError) -> IdentityCard {
        guard let card = try resolvedCard(for: org) else { throw notAPartner(org) }
        return card
    }

    /// `HOME/directory/cards/ODS.card`: the newest card a partner known only through the directory
    /// sent in a key-manifest control bundle (FORMAT.md §5.3).
    public func listedCardPath(for org: ODSCode) -> String { home.path + "/directory/cards/\(org.value).card" }

    /// Accepts a newer card from `card.org`, which is not pinned here, by the rules a pinned
    /// partner's card follows (FORMAT.md §5.3), the listing's card standing for the pinned one:
    /// the directory must list `org` now (a revoked or expired listing makes it unknown), and the
    /// card's root must be the listed root or one the listed root endorsed, directly or through
    /// a chain (DIRECTORY.md §6.1). Kept beside the directory, never pinned, so that the
    /// directory still decides: a revocation there, or a new admission with another root, puts
    /// it out of use. Called under the key-change lock by ``update(with:now:waitForLock:)``.
    func updateListed(
        with card: IdentityCard, now: UInt64
    ) throws(KitError) -> (outcome: AddOutcome, previous: IdentityCard) {
        let directory = DirectoryClient(home: home)
        guard directory.hasJoined, let listed = try directory.partner(card.org, now: now) else {
            throw notAPartner(card.org)
        }
        let previous = try rotatedCard(over: listed.card) ?? listed.card
        let path = listedCardPath(for: card.org)
        let listedRoot = listed.card.rootKey
        // The chain starts at the root the authority checked, whatever a stored card says.
        guard card.rootKey == listedRoot || card.manifest.rootHistory.contains(where: { $0.root == listedRoot }) else {
            throw .partnerConflict(
                "\(card.org) is listed in the directory with root fingerprint \(listed.card.fingerprint); the new "
                    + "card's root (fingerprint \(card.fingerprint)) is neither that root nor endorsed by it",
                path: path)
        }
        let outcome = try Self.outcome(of: card, over: previous, replace: false, now: now, path: path)
        if outcome != .unchanged {
            try FileOperations.makeDirectory(home.path + "/directory/cards", mode: 0o755)
            try FileOperations.replaceAtomically(at: path, contents: Array(card.text.utf8), mode: 0o644)
        }
        return (outcome, previous)
    }

    /// The card kept under `directory/cards/` for `listed`'s organisation, when it is a successor
    /// of `listed`: newer, and rooted in `listed`'s root (or endorsed by it). A card chained from
    /// another root (the organisation was admitted again with a new one) is not used.
    func rotatedCard(over listed: IdentityCard) throws(KitError) -> IdentityCard? {
        let path = listedCardPath(for: listed.org)
        guard let bytes = try FileOperations.read(at: path, limit: IdentityCard.maxTextLength) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidCard("\(path) is not UTF-8 text", path: path)
        }
        let card: IdentityCard
        do { card = try ParsedCards.parse(text) } catch {
            throw .invalidCard("\(path): \(error.detail)", path: path)
        }
        guard card.org == listed.org, card.manifest.version > listed.manifest.version,
            card.rootKey == listed.rootKey || card.manifest.rootHistory.contains(where: { $0.root == listed.rootKey })
        else { return nil }
        return card
    }

    /// `unknownPartner`: neither a pinned card nor the directory names `org`.
    func notAPartner(_ org: ODSCode) -> KitError {
        .unknownPartner("\(org) is not a partner of \(home.path) (no \(cardPath(for: org)), and no directory entry)",
                        path: cardPath(for: org))
    }
}
