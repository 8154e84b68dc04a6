import Foundation
public import GatehouseFormat

/// Pinned partner identity cards under `HOME/partners/`, one `ODS.card` file per organisation.
///
/// A partner's root key is pinned when its card is first added, after a person has compared the
/// fingerprint by phone. From then on a card with a different root key is refused unless the
/// caller explicitly replaces the pin, and an older card never replaces a newer one.
public struct PartnerStore: Sendable {
    /// What ``add(_:replace:)`` did.
    public enum AddOutcome: String, Sendable, Hashable {
        /// The organisation was not known; its card is now pinned.
        case added
        /// The same card was already stored.
        case unchanged
        /// A newer card signed by the pinned root key replaced the old one (new operational keys).
        case updated
        /// The pinned root key was replaced, as explicitly asked.
        case replaced
        /// A newer card with a new root key endorsed by the pinned one (FORMAT.md §5.2); the new
        /// root is pinned now.
        case rootRotated = "root-rotated"
    }

    /// The home folder whose partners these are.
    public let home: GatehouseHome

    /// The partner store of `home`.
    public init(home: GatehouseHome) { self.home = home }

    /// `partners/ODS.card`.
    public func cardPath(for org: ODSCode) -> String { home.partnersPath + "/\(org.value).card" }

    /// Stores `card` atomically (temporary file, fsync, rename, fsync of the folder).
    ///
    /// Refuses with `partnerConflict` when a card with a different root key not endorsed by the
    /// pinned one, or a card whose manifest version is not higher than the stored one's, is
    /// stored for the same organisation, unless `replace` is true: replacing a pinned root key
    /// must be a deliberate act after a new fingerprint check. A card whose manifest has expired
    /// is refused (`invalidCard`) in every case.
    @discardableResult
    public func add(_ card: IdentityCard, replace: Bool = false, now: UInt64 = KeyStore.now()) throws(KitError) -> AddOutcome {
        // Checked and stored under the key-change lock: a running daemon accepting the same
        // partner's newer manifest must not interleave with this (the later write would win).
        let lock = try HomeLock.keyChange(home)
        defer { lock.release() }
        let outcome = try plannedOutcome(for: card, replace: replace, now: now)
        guard outcome != .unchanged else { return outcome }
        try store(card)
        return outcome
    }

    /// Accepts a partner's newer manifest received through the mailboxes (FORMAT.md §5.3): only
    /// for an organisation pinned here or listed in the verified directory (then kept beside the
    /// directory, never pinned: ``updateListed(with:now:)``), only with a higher manifest
    /// version, and only signed by the pinned (listed) root or by a new root it endorsed. Never
    /// pins anything new; throws `unknownPartner`, `partnerConflict` or `invalidCard` otherwise.
    /// The very card already held is `unchanged` (a control bundle sent again after a lost answer).
    @discardableResult
    /// With `waitForLock: false` a key change in progress makes this throw `busy` at once.
    public func update(with card: IdentityCard, now: UInt64 = KeyStore.now(),
                       waitForLock: Bool = true) throws(KitError) -> (outcome: AddOutcome, previous: IdentityCard) {
        let lock = try HomeLock.keyChange(home, wait: waitForLock)
        defer { lock.release() }
        // Not pinned: a partner known through the directory rotates as a pinned one does,
        // chained from the root its listing names (DIRECTORY.md §6.1).
        guard let previous = try self.card(for: card.org) else { return try updateListed(with: card, now: now) }
        let outcome = try plannedOutcome(for: card, replace: false, now: now)
        if outcome != .unchanged { try store(card) }
        return (outcome, previous)
    }

    private func store(_ card: IdentityCard) throws(KitError) {
        try FileOperations.makeDirectory(home.partnersPath, mode: 0o755)
        try FileOperations.replaceAtomically(at: cardPath(for: card.org), contents: Array(card.text.utf8), mode: 0o644)
    }

    /// What ``add(_:replace:now:)`` would do with `card`, without storing anything; throws the
    /// same errors. Lets a caller ask for confirmation only when a new root key is pinned.
    public func plannedOutcome(for card: IdentityCard, replace: Bool = false, now: UInt64 = KeyStore.now()) throws(KitError) -> AddOutcome {
        try Self.outcome(of: card, over: try self.card(for: card.org), replace: replace, now: now,
                         path: cardPath(for: card.org))
    }

    /// What replacing `stored` (nil: nothing held) by `card` would be, by the rules of
    /// ``plannedOutcome(for:replace:now:)``; `path` names the held card in messages.
    static func outcome(
        of card: IdentityCard, over stored: IdentityCard?, replace: Bool, now: UInt64, path: String
    ) throws(KitError) -> AddOutcome {
        if let stored, stored == card { return .unchanged }
        guard card.expires > now else {
            throw .invalidCard("\(card.org)'s card (manifest version \(card.manifest.version)) expired at \(card.expiresText); ask \(card.org) for a current one", path: path)
        }
        guard let stored else { return .added }
        let newer = card.manifest.version > stored.manifest.version
        if stored.rootKey != card.rootKey {
            // A root endorsed, directly or through a chain, by the pinned root is trusted as it is.
            let endorsed = card.manifest.rootHistory.contains { $0.root == stored.rootKey }
            if endorsed, newer { return .rootRotated }
            guard replace else {
                if endorsed {
                    throw .partnerConflict(
                        "\(card.org)'s manifest version \(card.manifest.version) is not newer than the version \(stored.manifest.version) held here (a rollback or replay is refused)",
                        path: path)
                }
                throw .partnerConflict(
                    "\(card.org) is pinned to a different root key (fingerprint \(stored.fingerprint)); the new card's fingerprint is \(card.fingerprint), and the pinned root did not endorse it",
                    path: path)
            }
            return .replaced
        }
        // Same root: a newer manifest carries rotated or revoked keys; anything else would roll them back.
        guard newer || replace else {
            throw .partnerConflict(
                "\(card.org)'s manifest version \(card.manifest.version) is not newer than the version \(stored.manifest.version) held here (a rollback or replay is refused)",
                path: path)
        }
        return replace ? .replaced : .updated
    }

    /// The pinned card for `org`, re-parsed and re-verified from its file; nil when none is stored.
    public func card(for org: ODSCode) throws(KitError) -> IdentityCard? {
        let path = cardPath(for: org)
        guard let bytes = try FileOperations.read(at: path, limit: IdentityCard.maxTextLength) else { return nil }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidCard("\(path) is not UTF-8 text", path: path)
        }
        let card: IdentityCard
        do { card = try ParsedCards.parse(text) } catch { throw .invalidCard("\(path): \(error.detail)", path: path) }
        // The file name is what lookups trust, so it must agree with the signed org.
        guard card.org == org else {
            throw .invalidCard("\(path) holds the card of \(card.org), not of \(org)", path: path)
        }
        return card
    }

    /// The pinned card for `org`; `unknownPartner` when none is stored.
    public func requireCard(for org: ODSCode) throws(KitError) -> IdentityCard {
        guard let card = try card(for: org) else {
            throw .unknownPartner("\(org) is not a partner of \(home.path) (no \(cardPath(for: org)))", path: cardPath(for: org))
        }
        return card
    }

    /// `partners/removed/`: the cards of removed partners, kept so that receipts and evidence
    /// from the partnership can still be checked.
    public var removedPath: String { home.partnersPath + "/removed" }

    /// Unpins `org`: its card moves to `partners/removed/ODS-TIME.card` (returned), so nothing
    /// is sent to or accepted from it any more, and what it signed before can still be checked.
    /// `unknownPartner` when it is not pinned. Under the key-change lock, as ``add(_:replace:now:)``.
    @discardableResult
    public func remove(_ org: ODSCode, now: UInt64 = KeyStore.now()) throws(KitError) -> String {
        let lock = try HomeLock.keyChange(home)
        defer { lock.release() }
        let card = try requireCard(for: org)
        try FileOperations.makeDirectory(removedPath, mode: 0o755)
        let kept = "\(removedPath)/\(org.value)-\(FileOperations.timeForFileName(now)).card"
        // The copy is made durable before the pin goes: a crash leaves the card in both places
        // (removed again by a second `partners remove`), never in neither.
        try FileOperations.createExclusively(at: kept, contents: Array(card.text.utf8), mode: 0o644)
        guard unlink(cardPath(for: org)) == 0 else {
            throw FileOperations.ioError("could not remove", cardPath(for: org))
        }
        try FileOperations.syncDirectory(of: cardPath(for: org))
        return kept
    }

    /// The cards of `org` kept when it was removed, newest first; unreadable ones are left out.
    public func removedCards(for org: ODSCode) -> [(path: String, card: IdentityCard)] {
        let names = (FileOperations.listFolder(removedPath) ?? []).filter {
            $0.hasPrefix(org.value + "-") && $0.hasByteSuffix(".card")
        }
        return names.sorted(by: >).compactMap { name in
            let path = "\(removedPath)/\(name)"
            guard let bytes = try? FileOperations.read(at: path, limit: IdentityCard.maxTextLength),
                  let text = String(validating: bytes, as: UTF8.self), let card = try? ParsedCards.parse(text),
                  card.org == org else { return nil }
            return (path, card)
        }
    }

    /// Every pinned card, sorted by ODS code. Files whose names are not `ODS.card` (such as
    /// temporary files of an interrupted add) are skipped; an invalid card is an error.
    public func list() throws(KitError) -> [IdentityCard] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: home.partnersPath)
        } catch {
            if !FileManager.default.fileExists(atPath: home.partnersPath) { return [] }
            throw .io("could not list \(home.partnersPath): \(error.localizedDescription)", path: home.partnersPath)
        }
        var cards: [IdentityCard] = []
        for name in names.sorted() where name.hasByteSuffix(".card") {
            guard let org = try? ODSCode(String(decoding: name.utf8.dropLast(".card".utf8.count), as: UTF8.self)) else { continue }
            if let card = try card(for: org) { cards.append(card) }
        }
        return cards
    }
}
