import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting

/// Deterministic networks, cards and entries for the directory tests, from public test labels.
enum DirectoryFixtures {
    static let t0: UInt64 = RFC3339.parse("2026-12-01T00:00:00Z")!
    static let year: UInt64 = 365 * 86_400
    static let network = "directory.nhs.example/test"

    static func networkKey(_ label: String = "network-root") -> SigningSecretKey { CardFixtures.signingKey(label) }
    static func verifier(_ label: String = "network-root") -> NoteVerifierKey {
        try! NoteVerifierKey(name: network, key: networkKey(label).publicKey)
    }

    /// A card with an SSH key and a mailbox, as the authority admits them.
    static func card(_ org: String, name: String, label: String? = nil) -> IdentityCard {
        let label = label ?? org
        return try! IdentityCard.make(
            org: ODSCode(org), name: name, root: CardFixtures.signingKey("\(label)-root"),
            signingKey: CardFixtures.signingKey("\(label)-signing").publicKey,
            encryptionKey: CardFixtures.agreementKey("\(label)-encryption").publicKey, created: t0,
            sshKey: CardFixtures.signingKey("\(label)-ssh").publicKey,
            mailbox: "sftp://gatehouse@relay.nhs.example:2222/\(org)")
    }

    static func admit(_ org: String, name: String = "Test Organisation", label: String? = nil) -> DirectoryEntry {
        try! DirectoryEntry.admit(card(org, name: name, label: label), validFrom: t0, validUntil: t0 + year)
    }

    /// A log of `count` admissions A00000, A00001, …
    static func log(_ count: Int) -> DirectoryLog {
        var log = DirectoryLog()
        for i in 0..<count { log.append(admit(String(format: "A%05d", i), name: "Practice \(i)")) }
        return log
    }

    /// The files a relay would serve for `log`, as published in one go.
    static func served(_ log: DirectoryLog, time: UInt64 = t0) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for (path, bytes) in log.tiles(since: 0) { files[path.description] = bytes }
        files["checkpoint"] = try log.checkpoint(verifier: verifier(), key: networkKey(), time: time).bytes
        return files
    }
}
