import Foundation

/// `[tenants]` in a service's gatehouse.toml: the organisation homes one `gatehouse run` serves.
/// Each is a complete home (its own keys, partners, spool, audit log and gatehouse.toml).
public struct TenantSettings: Sendable, Equatable {
    /// Homes listed one by one (absolute paths).
    public var homes: [String] = []
    /// A folder whose every subfolder holding an identity (`keys/identity.card`) is a home.
    public var folder: String?

    /// No tenants.
    public init() {}

    /// The homes to serve: those listed, then those found in `folder`, in name order, each once.
    public func resolve() -> [GatehouseHome] {
        var paths = homes
        if let folder {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names.sorted() where !name.hasPrefix(".") {
                let home = GatehouseHome(path: "\(folder)/\(name)", currentDirectory: "/")
                if FileManager.default.fileExists(atPath: home.ownCardPath) { paths.append(home.path) }
            }
        }
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }.map { GatehouseHome(path: $0, currentDirectory: "/") }
    }
}
