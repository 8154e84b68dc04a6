import GatehouseCrypto

extension DirectoryEntry {
    /// Parses an entry strictly (DIRECTORY.md §6): the lines of its kind in order, each once, an
    /// admission's card verifying under its own root and agreeing with every field, and the
    /// bytes exactly the entry's canonical spelling. Throws `malformed`.
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> DirectoryEntry {
        guard bytes.count <= maxLength, let text = String(validating: bytes, as: UTF8.self), bytes.last == 0x0A else {
            throw .malformed("directory entry: not UTF-8 text of at most \(maxLength) bytes ending in LF")
        }
        var fields = text.splitBytes(0x0A).dropLast().makeIterator()
        var line = 0
        func next(_ name: String) throws(FormatError) -> Substring {
            line += 1
            guard let field = fields.next(), field.hasBytePrefix(name + ": ") else {
                throw .malformed("directory entry: line \(line) is not '\(name): …'")
            }
            return field.dropFirst(name.utf8.count + 2)
        }
        func optional(_ name: String, _ peek: inout Substring?) -> Substring? {
            guard let field = peek, field.hasBytePrefix(name + ": ") else { return nil }
            peek = fields.next()
            line += 1
            return field.dropFirst(name.utf8.count + 2)
        }
        guard fields.next().map({ $0.sameBytes(versionLine) }) == true else {
            throw .malformed("directory entry: the first line is not '\(versionLine)'")
        }
        let kind = try next("kind")
        let orgText = String(try next("org"))
        let org = try malformed { () throws(FormatError) in try ODSCode(orgText) }
        let entry: DirectoryEntry
        if kind.sameBytes("admit") {
            let name = try next("name")
            let root = try rootKey(try next("root-key"))
            var peek = fields.next()
            let ssh = optional("ssh-key", &peek)
            let mailbox = optional("mailbox", &peek)
            guard let fromLine = peek, fromLine.hasBytePrefix("valid-from: "),
                let from = RFC3339.parse(fromLine.dropFirst(12))
            else {
                throw .malformed("directory entry: no 'valid-from: TIME' line")
            }
            guard let until = RFC3339.parse(try next("valid-until")) else {
                throw .malformed("directory entry: bad valid-until")
            }
            guard let cardBytes = Base64.decode(try next("card")),
                let cardText = String(validating: cardBytes, as: UTF8.self)
            else {
                throw .malformed("directory entry: the card is not base64 of UTF-8 text")
            }
            let card: IdentityCard
            do { card = try IdentityCard.parse(cardText) } catch {
                throw .malformed("directory entry: card: \(error.detail)")
            }
            guard card.org == org, card.name.sameBytes(name), card.rootKey == root,
                card.sshKey.map(OpenSSHKey.publicLine) == ssh.map(String.init), card.mailbox == mailbox.map(String.init)
            else { throw .malformed("directory entry: the card does not match the entry's org, name, keys or mailbox") }
            entry = try malformed { () throws(FormatError) in
                try DirectoryEntry.admit(card, validFrom: from, validUntil: until)
            }
        } else if kind.sameBytes("revoke") {
            let root = try rootKey(try next("root-key"))
            guard let at = RFC3339.parse(try next("revoked")) else {
                throw .malformed("directory entry: bad revoked time")
            }
            let reason = String(try next("reason"))
            entry = try malformed { () throws(FormatError) in
                try DirectoryEntry.revoke(org: org, rootKey: root, at: at, reason: reason)
            }
        } else {
            throw .malformed("directory entry: unknown kind \(String(kind).debugDescription)")
        }
        guard entry.bytes == bytes else {
            throw .malformed("directory entry: not in canonical form (extra lines, spacing or encoding)")
        }
        return entry
    }

    private static func rootKey(_ value: Substring) throws(FormatError) -> SigningPublicKey {
        guard value.hasBytePrefix("ed25519 "), let raw = Base64.decode(value.dropFirst(8)),
            let key = try? SigningPublicKey(bytes: raw)
        else {
            throw .malformed("directory entry: root-key is not 'ed25519 BASE64' of 32 bytes")
        }
        return key
    }

    /// Runs a factory, turning its `invalidInput` into the parser's `malformed`.
    private static func malformed<T>(_ body: () throws(FormatError) -> T) throws(FormatError) -> T {
        do { return try body() } catch { throw .malformed("directory entry: \(error.detail)") }
    }
}
