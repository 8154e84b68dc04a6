import GatehouseCrypto
import GatehouseFormat
import GatehouseKit

/// An authority that shows the two gateways of a ``TwoGateways`` two logs of the same size from
/// the same key (the practice and the prison admitted in two orders): a split view, which only
/// a comparison of the two checkpoints can catch (DIRECTORY.md §7.2).
struct SplitDirectory {
    let authority: NetworkAuthority
    let card: NetworkCard
    let now = KeyStore.now()

    /// The authority, with both gateways joined; nothing synced yet.
    init(_ g: TwoGateways, name: String = "directory.nhs.example/split") throws {
        authority = NetworkAuthority(home: GatehouseHome(path: g.folder.appending("authority")))
        card = try NetworkAuthority.initialise(home: authority.home, name: name)
        for home in [g.practiceHome, g.prisonHome] { try DirectoryClient(home: home).join(card) }
    }

    /// The log of `cards`, admitted in that order, then of the revocation of `revoked`, as served
    /// from `folder`; with `forged`, its checkpoint is signed under the network's name by another key.
    func served(_ cards: [IdentityCard], revoking revoked: [IdentityCard] = [], in folder: String,
                forged: Bool = false) throws -> TileFolder {
        var log = DirectoryLog()
        for card in cards { log.append(try DirectoryEntry.admit(card, validFrom: now - 60, validUntil: now + 86_400)) }
        for card in revoked {
            log.append(
                try DirectoryEntry.revoke(org: card.org, rootKey: card.rootKey, at: now, reason: "left the network"))
        }
        let served = TileFolder(path: folder)
        for (path, bytes) in log.tiles(since: 0) { try served.write(path, bytes) }
        let key = forged ? SigningSecretKey.generate() : try authority.loadRootKey()
        let verifier = forged ? try NoteVerifierKey(name: card.network, key: key.publicKey) : card.verifier
        let checkpoint = try log.checkpoint(verifier: verifier, key: key, time: now)
        try served.writeCheckpoint(checkpoint.bytes)
        return served
    }

    /// The practice is shown the log in one order, the prison in the other; each syncs its view.
    func split(_ g: TwoGateways) throws {
        let practice = try KeyStore(home: g.practiceHome).loadOwnCard()
        let prison = try KeyStore(home: g.prisonHome).loadOwnCard()
        let honest = try served([practice, prison], in: g.folder.appending("honest"))
        let lying = try served([prison, practice], in: g.folder.appending("split"))
        for (home, view) in [(g.practiceHome, lying), (g.prisonHome, honest)] {
            _ = try DirectoryClient(home: home).sync(from: view)
        }
    }
}
