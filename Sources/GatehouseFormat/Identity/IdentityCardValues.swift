import GatehouseCrypto

extension IdentityCard {
    /// Builds and verifies a card from its field values; `firstLine` is the line number of
    /// `version:`, so that each error can name its line.
    static func card(from values: [Field: Substring], fields: [Field], firstLine: Int) throws(FormatError) -> IdentityCard {
        func value(_ field: Field) -> (Substring, String) {
            let line = firstLine + (fields.firstIndex(of: field) ?? 0)
            return (values[field] ?? "", "identity card: line \(line): \(field.rawValue)")
        }
        let (version, versionAt) = value(.version)
        guard version == "\(currentVersion)" else {
            throw .malformed("\(versionAt): version '\(version)' is not supported (this reader knows version \(currentVersion))")
        }
        let (orgText, orgAt) = value(.org)
        let org: ODSCode
        do { org = try ODSCode(String(orgText)) } catch { throw .malformed("\(orgAt): \(error.detail)") }
        let (name, nameAt) = value(.name)
        do { try validateName(String(name)) } catch { throw .malformed("\(nameAt): \(error.detail)") }

        let (rootText, rootAt) = value(.rootKey)
        let rootBytes = try keyBytes(rootText, algorithm: "ed25519", keyID: false, at: rootAt).key
        let root = try converting(rootAt) { () throws(CryptoError) in try SigningPublicKey(bytes: rootBytes) }
        let (signingText, signingAt) = value(.signingKey)
        let signing = try keyBytes(signingText, algorithm: "ed25519", keyID: true, at: signingAt)
        let signingKey = try converting(signingAt) { () throws(CryptoError) in try SigningPublicKey(bytes: signing.key) }
        try check(signing.id, equals: KeyID(signing: signingKey), at: signingAt)
        let (encryptionText, encryptionAt) = value(.encryptionKey)
        let encryption = try keyBytes(encryptionText, algorithm: "x25519", keyID: true, at: encryptionAt)
        let encryptionKey = try converting(encryptionAt) { () throws(CryptoError) in try AgreementPublicKey(bytes: encryption.key) }
        try check(encryption.id, equals: KeyID(agreement: encryptionKey), at: encryptionAt)

        let (createdText, createdAt) = value(.created)
        guard let created = RFC3339.parse(createdText) else {
            throw .malformed("\(createdAt): '\(createdText)' is not an RFC 3339 UTC time like 2026-11-25T09:30:00Z")
        }
        var sshKey: SigningPublicKey?
        if let text = values[.sshKey] {
            let (_, sshAt) = value(.sshKey)
            do { sshKey = try OpenSSHKey.parsePublic(text) } catch { throw .malformed("\(sshAt): \(error.detail)") }
        }
        var mailbox: String?
        if let text = values[.mailbox] {
            let (_, mailboxAt) = value(.mailbox)
            do { try validateMailbox(String(text)) } catch { throw .malformed("\(mailboxAt): \(error.detail)") }
            mailbox = String(text)
        }
        let (signatureText, signatureAt) = value(.signature)
        guard let signature = Base64.decode(signatureText), signature.count == SigningPublicKey.signatureLength else {
            throw .malformed("\(signatureAt): not canonical base64 of a \(SigningPublicKey.signatureLength)-byte signature")
        }
        let card = IdentityCard(org: org, name: String(name), rootKey: root, signingKey: signingKey,
                                encryptionKey: encryptionKey, created: created, sshKey: sshKey, mailbox: mailbox, signature: signature)
        // The card is trusted only through its root key: the signature covers every other field.
        guard SignatureContext.identityCard.verify(signature, over: card.signedDigest, by: root) else {
            throw .authenticationFailed("\(signatureAt): the root key's signature does not verify; the card was changed after it was signed")
        }
        return card
    }

    /// Parses `ALG [KEYID] BASE64` into an optional key id and 32 key bytes.
    private static func keyBytes(_ text: Substring, algorithm: String, keyID: Bool, at place: String) throws(FormatError) -> (id: KeyID?, key: [UInt8]) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        let shape = keyID ? "'\(algorithm) KEYID BASE64'" : "'\(algorithm) BASE64'"
        guard parts.count == (keyID ? 3 : 2) else { throw .malformed("\(place): expected \(shape)") }
        guard parts[0] == algorithm else {
            throw .malformed("\(place): algorithm '\(parts[0])' is not '\(algorithm)'")
        }
        var id: KeyID?
        if keyID {
            do { id = try KeyID(hex: String(parts[1])) } catch { throw .malformed("\(place): \(error.detail)") }
        }
        guard let key = Base64.decode(parts[parts.count - 1]), key.count == 32 else {
            throw .malformed("\(place): the key is not canonical base64 of 32 bytes")
        }
        return (id, key)
    }

    /// Runs a primitive's constructor, reporting its error as malformed card data at `place`.
    private static func converting<T>(_ place: String, _ body: () throws(CryptoError) -> T) throws(FormatError) -> T {
        do { return try body() } catch { throw .malformed("\(place): \(error.message)") }
    }

    private static func check(_ stated: KeyID?, equals derived: KeyID, at place: String) throws(FormatError) {
        guard stated == derived else {
            throw .malformed("\(place): key id \(stated?.hex ?? "?") does not match the key (its id is \(derived.hex))")
        }
    }
}
