import GatehouseFormat
import GatehouseKit

extension HealthCheck {
    /// The directory's problems for `/healthz` (DIRECTORY.md §7.2): proof that the network's
    /// authority equivocated, or the own ODS code listed with another root key. Nothing when the
    /// home joined no network.
    func directoryProblems() -> [String] {
        guard let home, let own = try? KeyStore(home: home).loadOwnCard() else { return [] }
        let watch: DirectoryClient.Watch?
        do { watch = try DirectoryClient(home: home).watch(own: own) } catch {
            return ["the saved directory cannot be trusted: \(error)"]
        }
        guard let watch else { return [] }
        var found: [String] = []
        if let fork = watch.evidence.last(where: { $0.hasByteSuffix("-fork.checkpoint") }) {
            found.append(
                "the network \(watch.network) signed a checkpoint that contradicts the trusted one "
                    + "(directory/evidence/\(fork))"
            )
        }
        if watch.ownListingIsForeign, let listing = watch.ownListing {
            found.append("the directory lists \(own.org) at entry \(listing.index) with another root key")
        }
        return found
    }

    /// The directory's warnings: a checkpoint older than `[directory] stale_after`.
    func directoryWarnings() -> [String] {
        guard let home, let own = try? KeyStore(home: home).loadOwnCard(),
            let watch = try? DirectoryClient(home: home).watch(own: own), let time = watch.checkpointTime
        else { return [] }
        let now = UInt64(max(0, clock.now() / 1000))
        let limit = UInt64(directoryStaleAfter.components.seconds)
        guard now > time + limit else { return [] }
        return [
            "the directory's checkpoint was signed at \(RFC3339.format(time) ?? "?"), longer ago than [directory] "
                + "stale_after: served stale or not synced"
        ]
    }
}
