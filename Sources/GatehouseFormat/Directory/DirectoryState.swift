/// What the directory says about each organisation after a run of entries (DIRECTORY.md §6.3):
/// the latest admission of each ODS code, and whether its root key was revoked since.
public struct DirectoryState: Sendable {
    /// One organisation's standing.
    public struct Listing: Sendable, Hashable {
        /// The index of the admission entry in the log.
        public let index: UInt64
        /// The admission.
        public let admission: DirectoryEntry.Admission
        /// The revocation of that admission's root key, with its entry index, if any.
        public let revocation: (index: UInt64, revocation: DirectoryEntry.Revocation)?

        /// The admission's card.
        public var card: IdentityCard { admission.card }

        /// True when the admission holds at `now`: inside its window, and not revoked by then.
        public func isValid(at now: UInt64) -> Bool {
            guard admission.validFrom <= now, now <= admission.validUntil else { return false }
            if let revocation, revocation.revocation.at <= now { return false }
            return true
        }

        public static func == (a: Listing, b: Listing) -> Bool {
            a.index == b.index && a.admission == b.admission && a.revocation?.index == b.revocation?.index
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(index) }
    }

    /// The standing of every organisation the log names.
    public private(set) var listings: [ODSCode: Listing] = [:]

    /// The state after `entries`, which must parse.
    public init(entries: [[UInt8]]) throws(FormatError) {
        for (index, bytes) in entries.enumerated() { apply(try DirectoryEntry.parse(bytes), at: UInt64(index)) }
    }

    /// Applies one more entry. A later admission of an ODS code replaces the earlier one (a root
    /// rotation re-checked by the authority); a revocation applies only to the root key it names.
    public mutating func apply(_ entry: DirectoryEntry, at index: UInt64) {
        switch entry.kind {
        case .admit(let admission):
            listings[admission.org] = Listing(index: index, admission: admission, revocation: nil)
        case .revoke(let revocation):
            guard let listing = listings[revocation.org], listing.admission.rootKey == revocation.rootKey,
                listing.revocation == nil
            else { return }
            listings[revocation.org] = Listing(
                index: listing.index, admission: listing.admission, revocation: (index, revocation))
        }
    }
}
