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
    /// directory's, when the gateway joined a network that admits `org` at `now`.
    public func knownCard(
        for org: ODSCode, now: UInt64 = KeyStore.now()
    ) throws(KitError) -> (card: IdentityCard, source: CardSource)? {
        if let pinned = try card(for: org) { return (pinned, .pinned) }
        let directory = DirectoryClient(home: home)
        guard directory.hasJoined, let listed = try directory.partner(org, now: now) else { return nil }
        return (listed.card, .directory(index: listed.index))
    }

    /// ``knownCard(for:now:)`` without its source.
    public func resolvedCard(for org: ODSCode) throws(KitError) -> IdentityCard? { try knownCard(for: org)?.card }

    /// ``resolvedCard(for:)``; `unknownPartner` when neither a pinned card nor the directory names `org`.
    public func requireResolvedCard(for org: ODSCode) throws(KitError) -> IdentityCard {
        guard let card = try resolvedCard(for: org) else { throw notAPartner(org) }
        return card
    }

    /// `unknownPartner`: neither a pinned card nor the directory names `org`.
    func notAPartner(_ org: ODSCode) -> KitError {
        .unknownPartner("\(org) is not a partner of \(home.path) (no \(cardPath(for: org)), and no directory entry)",
                        path: cardPath(for: org))
    }
}
