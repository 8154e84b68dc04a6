import Foundation
public import GatehouseFormat
public import GatehouseKit
import GatehouseSFTPClient

/// Follows the network's directory from where this gateway collects its mail (DIRECTORY.md §7):
/// the relay's read-only `/directory/`, or `PATH/directory` for a `dir:PATH` mailbox.
///
/// Over SFTP the signed checkpoint is fetched and verified first, and only then the entry bundles
/// it adds: a relay cannot make the gateway download more than the authority signed for.
public struct DirectoryFetcher: Sendable {
    /// The gateway's home.
    public let home: GatehouseHome
    private let own: IdentityCard
    private let connector: MailboxConnector

    /// A fetcher for the gateway at `home`, whose card is `own`, using `connector`'s addresses and keys.
    public init(home: GatehouseHome, own: IdentityCard, connector: MailboxConnector) {
        self.home = home
        self.own = own
        self.connector = connector
    }

    /// Fetches, verifies and keeps what is new in the directory.
    public func sync(now: UInt64 = KeyStore.now()) async throws -> DirectoryClient.SyncOutcome {
        let client = DirectoryClient(home: home)
        guard let address = try connector.address(of: own.org) else { throw MailboxConnector.noAddress(own.org) }
        switch address {
        case .directory(let path):
            return try client.sync(from: TileFolder(path: path + "/" + "directory"), now: now)
        case .sftp(let server):
            guard let card = try client.pinnedCard() else {
                throw KitError.notInitialised(
                    "this gateway has joined no network; run `gatehouse network join NETWORK.card`")
            }
            let transport = SFTPTransport(address: server, ssh: try connector.sshInvocation(for: own.org))
            let scratch = TileFolder(path: client.folder + "/incoming")
            try? FileManager.default.removeItem(atPath: scratch.path)
            defer { try? FileManager.default.removeItem(atPath: scratch.path) }
            do {
                let outcome = try await fetchAndSync(client, card, transport, scratch, everything: false, now: now)
                // A root the new entries do not reproduce: read the whole log, to tell a fork
                // (provable) from changed tiles.
                guard case .refused(.unverifiable, _) = outcome else {
                    await transport.close()
                    return outcome
                }
                let again = try await fetchAndSync(client, card, transport, scratch, everything: true, now: now)
                await transport.close()
                return again
            } catch {
                await transport.close()
                throw error
            }
        }
    }

    private func fetchAndSync(
        _ client: DirectoryClient, _ card: NetworkCard, _ transport: SFTPTransport, _ scratch: TileFolder,
        everything: Bool, now: UInt64
    ) async throws -> DirectoryClient.SyncOutcome {
        try FileOperations.makeDirectory(client.folder, mode: 0o755)
        try FileOperations.makeDirectory(scratch.path, mode: 0o755)
        if !FileManager.default.fileExists(atPath: scratch.checkpointPath) {
            try await transport.download(
                "/directory/checkpoint", to: scratch.checkpointPath, maxBytes: UInt64(SignedNote.maxLength))
        }
        guard let bytes = try scratch.readCheckpoint() else { throw KitError.io("the directory checkpoint vanished") }
        let offered = try Checkpoint.open(bytes, verifiers: [card.verifier] + (try client.rotatedKeys())).0
        // The cosigned copies of the required witnesses, where they published them (missing is fine).
        for witness in (try client.witnessPolicy())?.witnesses ?? []
        where !FileManager.default.fileExists(atPath: scratch.witnessPath(witness)) {
            try FileOperations.makeDirectory(scratch.path + "/witness", mode: 0o755)
            try? await transport.download(
                "/directory/witness/" + witness.keyIDHex, to: scratch.witnessPath(witness),
                maxBytes: UInt64(SignedNote.maxLength))
        }
        let trusted = everything ? 0 : (try client.mirror()?.log.size ?? 0)
        for tile in TilePath.covering(
            kind: .entries, hashes: min(trusted, offered.size)..<offered.size, total: offered.size)
        {
            let file = scratch.filePath(tile)
            guard !FileManager.default.fileExists(atPath: file) else { continue }
            var folder = scratch.path
            for part in tile.description.split(separator: "/").dropLast() {
                folder += "/" + part
                try FileOperations.makeDirectory(folder, mode: 0o755)
            }
            try await transport.download(
                "/directory/" + tile.description, to: file, maxBytes: UInt64(TileFolder.maxFileLength))
        }
        return try client.sync(from: scratch, now: now)
    }
}
