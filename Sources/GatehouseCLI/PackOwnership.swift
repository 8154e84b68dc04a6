import Glibc
import GatehouseKit

/// Who must own what `gatehouse send` writes into the outbox: the gateway's user, which owns the
/// home folder. The copies are private (0600 in 0700 folders), so a copy owned by anyone else is
/// one the gateway can never read: it would be refused in `spool/failed/` while `send` said
/// "queued".
struct PackOwnership {
    /// The mode, and when `send` runs as root for another user, the owner and group, given to each
    /// folder and file on its descriptor before it gets its final name.
    let access: PublishAccess
    /// The gateway's user (the home's owner), by name where it has one.
    let gatewayUser: String

    /// Checks, before anything is copied, that the copies can be the gateway's.
    init(home: GatehouseHome) throws {
        var info = stat()
        guard stat(home.path, &info) == 0 else {
            throw FileOperations.kitError(SystemError("reading the owner of", home.path))
        }
        gatewayUser = Self.userName(info.st_uid)
        let me = geteuid()
        if me == info.st_uid {
            access = .private
        } else if me == 0 {
            // Root gives each copy away on its descriptor, before the pack is renamed into the
            // outbox: the gateway never sees a root-owned file, and no path is followed to do it.
            access = .private(owner: info.st_uid, group: info.st_gid)
        } else {
            throw CommandFailure(
                status: .ioError,
                message: "cannot send as \(Self.userName(me)): the gateway's user is \(gatewayUser) (the owner of "
                    + "\(home.path)), and it could not read copies made by another user",
                hint: "run the command as \(gatewayUser), e.g. `sudo -u \(gatewayUser) gatehouse send …`")
        }
    }

    /// Creates each missing folder (in order, parents first) with this access, and checks that
    /// each one belongs to the gateway's user: an outbox folder left behind by root is one the
    /// gateway cannot list, so nothing dropped in it would ever be sent.
    func makeFolders(_ folders: [String]) throws {
        let owner = access.owner ?? geteuid()
        for folder in folders {
            do { try access.makeFolder(folder) } catch {
                // Already there (or made by the gateway meanwhile): its owner is checked below.
                guard error.code == EEXIST else { throw FileOperations.kitError(error) }
            }
            var info = stat()
            guard lstat(folder, &info) == 0 else { throw FileOperations.kitError(SystemError("reading", folder)) }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw KitError.io("\(folder) exists and is not a folder", path: folder)
            }
            guard info.st_uid == owner else {
                throw CommandFailure(
                    status: .ioError,
                    message: "\(folder) belongs to \(Self.userName(info.st_uid)), not to the gateway's user "
                        + "\(gatewayUser): the gateway could not read what is dropped there",
                    hint: "give it back: `chown -R \(gatewayUser): \(folder)`")
            }
        }
    }

    private static func userName(_ uid: uid_t) -> String {
        getpwuid(uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(uid)"
    }
}
