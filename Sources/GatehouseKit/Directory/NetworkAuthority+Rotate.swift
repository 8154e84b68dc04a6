import Foundation
public import GatehouseCrypto
public import GatehouseFormat

extension NetworkAuthority {
    /// Replaces the network's root key (DIRECTORY.md §4.1): publishes the pending entries in a
    /// checkpoint that names the new key, signed by the old key (which vouches for it) and the
    /// new one, into `HOME/network/log` and each of `mirrors`; then the new key becomes
    /// `network/root.key` and the network card names it. Gateways that follow the log take the
    /// new key from that checkpoint; ones that join later pin the new card.
    ///
    /// The new key is written (`root.key.new`, 0600, never overwritten) before anything is
    /// published, so a crash never leaves a published rotation whose key is lost. Returns the
    /// new card.
    public func rotateRoot(
        oldKey: borrowing SigningSecretKey, now: UInt64 = KeyStore.now(),
        mirrors: [String] = [], post: WitnessPost? = nil
    ) throws(KitError) -> (card: NetworkCard, witnesses: [WitnessOutcome]) {
        let old = try card().verifier
        guard oldKey.publicKey == old.key else { throw .keyFileInvalid("the key given is not the network's root key") }
        let staged = rootKeyPath + ".new"
        let next = SigningSecretKey.generate()
        let nextVerifier: NoteVerifierKey
        do { nextVerifier = try NoteVerifierKey(name: old.name, key: next.publicKey) } catch {
            throw .invalidInput(error.detail)
        }
        let secret = SecretKeyFile.encode(signing: next, role: .root)
        try secret.withUnsafeBytes { (bytes) throws(KitError) in
            try FileOperations.createExclusively(at: staged, contents: bytes, mode: 0o600)
        }
        let published = try published()
        var log = published.log
        let held = Set(log.entries)
        let names = pendingNames()
        for entry in try pending(names) where !held.contains(entry.bytes) { log.append(entry) }
        let checkpoint: SignedNote
        do {
            checkpoint = try log.rotationCheckpoint(
                old: old, oldKey: oldKey, next: nextVerifier, nextKey: next, time: now)
        } catch { throw .invalidInput(error.detail) }
        // Witnesses must see the rotation: they learn the new key from this checkpoint.
        let (_, witnesses) = try write(
            log, checkpoint: checkpoint, verifier: old, mirrors: mirrors, published: names,
            previous: published.log.size, post: post)
        let card = NetworkCard(verifier: nextVerifier)
        try FileOperations.replaceAtomically(at: cardPath, contents: Array(card.text.utf8), mode: 0o644)
        guard rename(staged, rootKeyPath) == 0 else {
            throw FileOperations.ioError("could not move the new root key into place at", rootKeyPath)
        }
        try FileOperations.syncDirectory(of: rootKeyPath)
        return (card, witnesses)
    }
}
