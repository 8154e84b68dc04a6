import Foundation

/// An organisation's home folder: `keys/` (secret keys and the own identity card) and
/// `partners/` (pinned partner cards).
public struct GatehouseHome: Sendable, Hashable {
    /// The environment variable that names the home folder when `--home` is not given.
    public static let environmentVariable = "GATEHOUSE_HOME"

    /// The home folder, as an absolute path without a trailing slash.
    public let path: String

    /// A home at `path`; a relative path is taken from `currentDirectory`.
    public init(path: String, currentDirectory: String = FileManager.default.currentDirectoryPath) {
        // The first byte: "/\u{301}x" is absolute, though its first Character is not "/".
        let absolute = path.utf8.first == UInt8(ascii: "/") ? path : currentDirectory + "/" + path
        self.path = URL(fileURLWithPath: absolute).standardizedFileURL.path
    }

    /// The home to use: `explicit` (from `--home`) if given, else `$GATEHOUSE_HOME` if set and
    /// not empty, else the current directory.
    public static func resolve(
        explicit: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> GatehouseHome {
        if let explicit, !explicit.isEmpty { return GatehouseHome(path: explicit, currentDirectory: currentDirectory) }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return GatehouseHome(path: fromEnvironment, currentDirectory: currentDirectory)
        }
        return GatehouseHome(path: currentDirectory, currentDirectory: currentDirectory)
    }

    /// `HOME/keys`: secret key files (mode 0600) and the own identity card.
    public var keysPath: String { path + "/keys" }
    /// `HOME/partners`: one `ODS.card` per pinned partner.
    public var partnersPath: String { path + "/partners" }
    /// `HOME/keys/identity.card`: the own, public identity card.
    public var ownCardPath: String { keysPath + "/identity.card" }
}
