import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting
import Testing

/// Gatehouse writes SSH keys itself; OpenSSH's own `ssh-keygen` must read them as it writes them.
@Suite("OpenSSH Ed25519 keys")
struct OpenSSHKeyTests {
    private func keygen(_ arguments: [String]) throws -> String {
        let output = try GatehouseProcess.runProgram("/usr/bin/ssh-keygen", arguments)
        #expect(output.status == 0, "ssh-keygen \(arguments.joined(separator: " ")) failed: \(output.stderr)")
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: ["gatehouse A81001", "x", "a comment of some length to move the padding"])
    func sshKeygenReadsThePrivateKeyFileAndAgreesOnTheFingerprint(comment: String) throws {
        let folder = try TemporaryDirectory(prefix: "gatehouse-sshkey")
        let key = SigningSecretKey.generate()
        let path = folder.appending("id")
        let text = OpenSSHKey.privateKeyFile(key, comment: comment)
        try text.withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: path)) }
        chmod(path, 0o600)
        // -y derives the public key from the private file: the file parses, the key is the same.
        let derived = try keygen(["-y", "-f", path])
        #expect(derived.hasPrefix(OpenSSHKey.publicLine(key.publicKey)))
        try (OpenSSHKey.publicLine(key.publicKey) + "\n").write(toFile: path + ".pub", atomically: true, encoding: .utf8)
        let listed = try keygen(["-l", "-f", path + ".pub"])
        #expect(listed.split(separator: " ")[1] == OpenSSHKey.fingerprint(key.publicKey))
    }

    @Test func publicLinesParseStrictly() throws {
        let key = SigningSecretKey.generate().publicKey
        #expect(try OpenSSHKey.parsePublic(OpenSSHKey.publicLine(key)) == key)
        let blob = OpenSSHKey.publicLine(key).split(separator: " ")[1]
        for bad in ["", "ssh-ed25519", "ssh-rsa \(blob)", "ssh-ed25519  \(blob)", "ssh-ed25519 \(blob) comment",
                    "ssh-ed25519 \(blob.dropLast(4))", "ssh-ed25519 AAAA"] {
            #expect(throws: FormatError.self, "\(bad.debugDescription)") { try OpenSSHKey.parsePublic(bad) }
        }
    }

    @Test func cardsCarryTheSSHKeyAndASpacedMailboxSigned() throws {
        let root = SigningSecretKey.generate()
        let ssh = SigningSecretKey.generate().publicKey
        let host = OpenSSHKey.publicLine(SigningSecretKey.generate().publicKey)
        let card = try IdentityCard.make(org: ODSCode("A81001"), name: "Riverside Medical Practice", root: root,
                                         signingKey: SigningSecretKey.generate().publicKey,
                                         encryptionKey: AgreementSecretKey.generate().publicKey, created: 1_800_000_000,
                                         sshKey: ssh, mailbox: "sftp://gatehouse@relay.example.org:2222 \(host)")
        let parsed = try IdentityCard.parse(card.text)
        #expect(parsed == card && parsed.sshKey == ssh)
        #expect(card.text.contains("\nssh-key: \(OpenSSHKey.publicLine(ssh))\nmailbox: sftp://"))
        // The host key is signed with the rest: changing it breaks the root signature.
        let other = OpenSSHKey.publicLine(SigningSecretKey.generate().publicKey)
        #expect(throws: FormatError.self) { try IdentityCard.parse(card.text.replacing(host, with: other)) }
        for bad in [" sftp://x", "sftp://x ", "sftp://x  ssh-ed25519 A", "tab\there"] {
            #expect(throws: FormatError.self) { try IdentityCard.validateMailbox(bad) }
        }
    }
}
