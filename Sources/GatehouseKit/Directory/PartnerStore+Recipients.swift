public import GatehouseFormat

extension PartnerStore {
    /// An organisation packs may be sent to, and where its card came from.
    public struct Recipient: Sendable {
        /// Its card: the pinned one, or the directory's.
        public let card: IdentityCard
        /// Pinned, or listed in the verified directory.
        public let source: CardSource
    }

    /// The rule every way of sending shares (`gatehouse send`, the web *Send* page and the intake
    /// API): `org` is not this organisation (`own`), and is a pinned partner or one the joined
    /// directory admits at `now` (not revoked, inside its validity window, proven included).
    ///
    /// Throws `invalidInput` for the own organisation (its receiver would refuse the bundle as
    /// reflected, FORMAT.md §3.10) and `unknownPartner` for an organisation neither pinned nor
    /// listed, before anything is copied into the outbox.
    @discardableResult
    public func requireRecipient(
        _ org: ODSCode, own: ODSCode, now: UInt64 = KeyStore.now()
    ) throws(KitError) -> Recipient {
        guard org != own else {
            throw .invalidInput("\(org) is this organisation itself; records are sent to partners")
        }
        guard let known = try knownCard(for: org, now: now) else { throw notAPartner(org) }
        return Recipient(card: known.card, source: known.source)
    }

    /// Every organisation ``requireRecipient(_:own:now:)`` accepts at `now`: the pinned partners,
    /// then those only the directory lists (a pinned card always wins), never `own`.
    public func recipients(own: ODSCode, now: UInt64 = KeyStore.now()) throws(KitError) -> [Recipient] {
        let pinned = try list().filter { $0.org != own }
        let known = Set(pinned.map(\.org) + [own])
        let listed = try DirectoryClient(home: home).partners(now: now).filter { !known.contains($0.card.org) }
        return pinned.map { Recipient(card: $0, source: .pinned) }
            + listed.map { Recipient(card: $0.card, source: .directory(index: $0.index)) }
    }
}
