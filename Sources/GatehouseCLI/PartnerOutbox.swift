import Glibc
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit

/// A partner's drop folder, `spool/outbox/<ODS>/`: made when the partner is added, so a GP
/// system or a person can drop records into it before the gateway has ever run, and removed
/// (when empty) with the partner.
enum PartnerOutbox {
    /// `spool/outbox/<ODS>/` under `home`.
    static func path(_ org: ODSCode, home: GatehouseHome) -> String { "\(SpoolLayout(home: home).outbox)/\(org.value)" }

    /// Creates the folder (and spool/, spool/outbox/) if missing, private to the gateway's user as
    /// the rest of the spool. Run as root for a home another user owns, the new folders are
    /// given to that user: a root-owned 0700 folder would be one the gateway cannot read.
    static func create(_ org: ODSCode, home: GatehouseHome) throws {
        var owner = stat()
        guard stat(home.path, &owner) == 0 else { return }
        let spool = SpoolLayout(home: home)
        for folder in [spool.root, spool.outbox, path(org, home: home)] {
            var info = stat()
            guard lstat(folder, &info) != 0 else { continue }
            try FileOperations.makeDirectory(folder, mode: 0o700)
            if geteuid() == 0 && owner.st_uid != 0 { _ = chown(folder, owner.st_uid, owner.st_gid) }
        }
    }

    /// The names waiting in the folder (not yet claimed by the gateway), dot-files included.
    static func waiting(_ org: ODSCode, home: GatehouseHome) -> [String] {
        FileOperations.listFolder(path(org, home: home)) ?? []
    }
}
