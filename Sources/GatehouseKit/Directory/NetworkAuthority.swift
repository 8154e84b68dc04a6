import Foundation
public import GatehouseCrypto
public import GatehouseFormat

/// A network authority's home (DIRECTORY.md §9): its root key, its network card, the published
/// log (a ``TileFolder``) and the entries admitted or revoked since the last publication.
///
/// ```
/// HOME/network/network.card     the card gateways pin
/// HOME/network/root.key         the checkpoint key (plain, or sealed under a passphrase)
/// HOME/network/log/             checkpoint and tile/…, exactly what relays serve
/// HOME/network/pending/         NNNNNNNN-ODS.entry, waiting for `network publish`
/// ```
public struct NetworkAuthority: Sendable {
    /// The home folder.
    public let home: GatehouseHome

    /// The authority in `home`.
    public init(home: GatehouseHome) { self.home = home }

    /// `HOME/network`.
    public var folder: String { home.path + "/network" }
    /// `HOME/network/network.card`.
    public var cardPath: String { folder + "/network.card" }
    /// `HOME/network/root.key`.
    public var rootKeyPath: String { folder + "/root.key" }
    /// The published log.
    public var log: TileFolder { TileFolder(path: folder + "/log") }
    /// `HOME/network/pending`.
    public var pendingPath: String { folder + "/pending" }

    /// Creates the network: a new root key (mode 0600, never overwritten) and its card.
    public static func initialise(home: GatehouseHome, name: String) throws(KitError) -> NetworkCard {
        let authority = NetworkAuthority(home: home)
        guard !FileManager.default.fileExists(atPath: authority.cardPath) else {
            throw .alreadyInitialised(
                "\(authority.cardPath) already exists: this home already runs a network", path: authority.cardPath)
        }
        let root = SigningSecretKey.generate()
        let verifier: NoteVerifierKey
        do { verifier = try NoteVerifierKey(name: name, key: root.publicKey) } catch {
            throw .invalidInput(error.detail)
        }
        try FileOperations.makeDirectory(home.path, mode: 0o700)
        try FileOperations.makeDirectory(authority.folder, mode: 0o700)
        try FileOperations.makeDirectory(authority.pendingPath, mode: 0o700)
        let secret = SecretKeyFile.encode(signing: root, role: .root)
        try secret.withUnsafeBytes { (bytes) throws(KitError) in
            try FileOperations.createExclusively(at: authority.rootKeyPath, contents: bytes, mode: 0o600)
        }
        let card = NetworkCard(verifier: verifier)
        try FileOperations.createExclusively(at: authority.cardPath, contents: Array(card.text.utf8), mode: 0o644)
        return card
    }

    /// The network's card.
    public func card() throws(KitError) -> NetworkCard {
        guard let bytes = try FileOperations.read(at: cardPath, limit: NetworkCard.maxTextLength) else {
            throw .notInitialised(
                "\(home.path) runs no network (no \(cardPath)); run `gatehouse network init --name NAME`",
                path: cardPath)
        }
        do { return try NetworkCard.parse(String(decoding: bytes, as: UTF8.self)) } catch {
            throw .keyFileInvalid("\(cardPath): \(error.detail)", path: cardPath)
        }
    }

    /// The root key, from `HOME/network/root.key` or from `file` when it is kept offline; a
    /// passphrase-protected file asks `passphrase`.
    public func loadRootKey(
        from file: String? = nil, passphrase: KeyStore.PassphraseSource? = nil
    ) throws(KitError) -> SigningSecretKey {
        let path = file ?? rootKeyPath
        let state = try KeyStore.rootKeyState(at: path)
        guard state != .absent else {
            throw .rootKeyUnavailable("the network's root key is not on this machine (no \(path))", path: path)
        }
        let key = try KeyStore.readRootKey(at: path, state: state, passphrase: passphrase)
        guard key.publicKey == (try card()).verifier.key else {
            throw .keyFileInvalid("\(path) holds another key than the one on the network card", path: path)
        }
        return key
    }

    /// Seals the network's root key under `passphrase`, in place or moved to `offline` (written
    /// new, read back, and only then removed from `HOME/network/`), as `keys protect-root` does.
    public func protectRootKey(
        passphrase: borrowing SecretBytes, offline: String? = nil,
        cost: PassphraseSeal.Cost = .interactive
    ) throws(KitError) -> String {
        try KeyStore.protect(try loadRootKey(), at: rootKeyPath, passphrase: passphrase, offline: offline, cost: cost)
    }

    /// The published log, read back and checked against its own checkpoint.
    public func published() throws(KitError) -> DirectoryMirror {
        do { return try log.mirror(verifier: try card().verifier) } catch {
            throw .io("the published log in \(log.path) is damaged: \(error.message)", path: log.path)
        }
    }
}
