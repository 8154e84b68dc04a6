import GatehouseFormat
import GatehouseKit

extension HomeDoctor {
    /// The directory this gateway follows (DIRECTORY.md §7.2): evidence of a lying authority, an
    /// entry for its own ODS code with another root key, and a checkpoint served stale. Nothing
    /// when it joined no network.
    func directory(own: IdentityCard, staleAfter: Duration) -> [DoctorFinding] {
        let watch: DirectoryClient.Watch?
        do { watch = try DirectoryClient(home: home).watch(own: own) } catch {
            return [
                DoctorFinding(
                    "directory", .problem, "the saved directory cannot be trusted: \(error)",
                    fix: "run `gatehouse network sync`; if it still fails, tell the network authority")
            ]
        }
        guard let watch else { return [] }
        var findings: [DoctorFinding] = []
        let forks = watch.evidence.filter { $0.hasByteSuffix("-fork.checkpoint") }
        if !forks.isEmpty {
            findings.append(
                DoctorFinding(
                    "directory", .problem,
                    "the network \(watch.network) signed a checkpoint that contradicts the one trusted here "
                        + "(evidence: directory/evidence/\(forks[forks.count - 1])); new directory entries are not "
                            + "trusted",
                    fix: "send directory/evidence/ to the network authority and your security officer; keep the files"))
        }
        if watch.ownListingIsForeign, let listing = watch.ownListing {
            findings.append(
                DoctorFinding(
                    "directory", .problem,
                    "the directory lists \(own.org) at entry \(listing.index) with another root key (fingerprint "
                        + "\(listing.card.fingerprint)) than this organisation's (\(own.fingerprint))",
                    fix: "call the network authority now: someone else may have been admitted under this ODS code"))
        }
        guard let time = watch.checkpointTime else {
            return findings + [
                DoctorFinding(
                    "directory", .warning, "the network \(watch.network) is joined but never synced",
                    fix: "run `gatehouse network sync`")
            ]
        }
        if now > time + UInt64(staleAfter.components.seconds) {
            findings.append(
                DoctorFinding(
                    "directory", .warning,
                    "the directory's checkpoint was signed at \(Self.date(time)), longer ago than [directory] "
                        + "stale_after: it is served stale or not synced",
                    fix: "run `gatehouse network sync`; if the checkpoint stays old, tell the network authority"))
        }
        if findings.isEmpty {
            let own = watch.ownListing.map { "; \(own.org) is listed at entry \($0.index)" } ?? ""
            findings.append(
                DoctorFinding(
                    "directory", .ok,
                    "network \(watch.network): \(watch.size) entries, checkpoint signed at \(Self.date(time))\(own)"))
        }
        return findings
    }
}
