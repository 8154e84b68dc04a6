import Foundation
public import GatehouseFormat

extension DirectoryClient {
    /// What a gateway watches in the directory it follows (DIRECTORY.md §7.2).
    public struct Watch: Sendable {
        /// The network's name.
        public let network: String
        /// Entries in the trusted checkpoint.
        public let size: UInt64
        /// When the trusted checkpoint was signed (nil before the first sync).
        public let checkpointTime: UInt64?
        /// Evidence files of refused checkpoints, by kind (`fork`, `rollback`, `unverifiable`).
        public let evidence: [String]
        /// The directory's listing of this organisation's own ODS code, if any.
        public let ownListing: DirectoryState.Listing?
        /// True when that listing names another root key than this organisation's own: someone
        /// else was admitted under its ODS code, a PROBLEM at once.
        public let ownListingIsForeign: Bool
    }

    /// The watch of this gateway, whose own card is `own`; nil when it joined no network.
    public func watch(own: IdentityCard) throws(KitError) -> Watch? {
        guard let card = try pinnedCard(), let mirror = try mirror() else { return nil }
        var listing: DirectoryState.Listing?
        if let loaded = try DirectoryCache.shared.load(self) {
            listing = try Self.state(of: own.org, at: loaded.byOrg[own.org] ?? [], in: loaded.mirror).listings[own.org]
        }
        let evidence = (FileOperations.listFolder(evidencePath) ?? []).filter {
            !$0.hasByteSuffix("-trusted.checkpoint")
        }.sorted()
        // A root this organisation used before (its card's root history) is stale, not foreign.
        var foreign = false
        if let listing, listing.revocation == nil, listing.admission.rootKey != own.rootKey {
            foreign = !own.manifest.rootHistory.contains { $0.root == listing.admission.rootKey }
        }
        return Watch(
            network: card.network, size: mirror.log.size, checkpointTime: mirror.body?.time, evidence: evidence,
            ownListing: listing, ownListingIsForeign: foreign)
    }
}
