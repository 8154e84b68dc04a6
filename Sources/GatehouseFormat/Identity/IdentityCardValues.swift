import GatehouseCrypto

extension IdentityCard {
    /// Builds and verifies a card from its field values, each with its line number.
    static func card(from values: [Field: [Value]]) throws(FormatError) -> IdentityCard {
        func value(_ field: Field) -> Value { values[field]?.first ?? Value(text: "", line: 0) }
        let version = value(.version)
        guard version.text.sameBytes("\(currentVersion)") else {
            throw .malformed("\(version.place): version: '\(version.text)' is not supported (this reader knows version \(currentVersion))")
        }
        let orgValue = value(.org)
        let org: ODSCode
        do { org = try ODSCode(String(orgValue.text)) } catch { throw .malformed("\(orgValue.place): org: \(error.detail)") }
        let name = value(.name)
        do { try validateName(String(name.text)) } catch { throw .malformed("\(name.place): name: \(error.detail)") }

        let rootValue = value(.rootKey)
        let rootParts = try words(rootValue, .rootKey, shape: ["ed25519", "BASE64"])
        let root = try signingKey(rootParts[1], at: "\(rootValue.place): root-key")

        let manifestValue = value(.manifest)
        guard let manifestVersion = UInt64(manifestValue.text), manifestValue.text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              manifestValue.text.utf8.first != UInt8(ascii: "0") else {
            throw .malformed("\(manifestValue.place): manifest: '\(manifestValue.text)' is not a version number (1, 2, 3 …)")
        }
        let created = try time(value(.created).text, at: "\(value(.created).place): created")
        let expires = try time(value(.expires).text, at: "\(value(.expires).place): expires")

        var keys: [ManifestKeyRecord] = []
        for field in [Field.signingKey, .encryptionKey] {
            let current = value(field)
            let parts = try words(current, field, shape: [field == .signingKey ? "ed25519" : "x25519", "KEYID", "BASE64", "FROM", "UNTIL"])
            let place = "\(current.place): \(field.rawValue)"
            let key = try manifestKey(algorithm: parts[0], id: parts[1], base64: parts[2], at: place)
            keys.append(ManifestKeyRecord(key: key, from: try time(parts[3], at: place),
                                          state: .current(until: try time(parts[4], at: place))))
        }
        for past in values[.supersededKey] ?? [] {
            let parts = try words(past, .supersededKey, shape: ["ALG", "KEYID", "BASE64", "FROM", "AT", "UNTIL"])
            let place = "\(past.place): superseded-key"
            let key = try manifestKey(algorithm: parts[0], id: parts[1], base64: parts[2], at: place)
            keys.append(ManifestKeyRecord(key: key, from: try time(parts[3], at: place),
                                          state: .superseded(at: try time(parts[4], at: place), until: try time(parts[5], at: place))))
        }
        for past in values[.revokedKey] ?? [] {
            let parts = try words(past, .revokedKey, shape: ["ALG", "KEYID", "BASE64", "FROM", "AT", "REASON"])
            let place = "\(past.place): revoked-key"
            let key = try manifestKey(algorithm: parts[0], id: parts[1], base64: parts[2], at: place)
            guard let reason = RevocationReason.allCases.first(where: { $0.rawValue.sameBytes(parts[5]) }) else {
                throw .malformed("\(place): reason '\(parts[5])' is not one of \(RevocationReason.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            keys.append(ManifestKeyRecord(key: key, from: try time(parts[3], at: place),
                                          state: .revoked(at: try time(parts[4], at: place), reason: reason)))
        }
        var history: [RootEndorsement] = []
        for entry in values[.rootHistory] ?? [] {
            let parts = try words(entry, .rootHistory, shape: ["ed25519", "BASE64", "SIGNATURE"])
            let place = "\(entry.place): root-history"
            let old = try signingKey(parts[1], at: place)
            history.append(RootEndorsement(root: old, signature: try signatureBytes(parts[2], at: place)))
        }
        let manifest = KeyManifest(version: manifestVersion, created: created, expires: expires, keys: keys, rootHistory: history)
        // The rules that span lines are reported at the manifest line.
        try manifest.validate(org: org, root: root, place: "\(manifestValue.place): ")

        var sshKey: SigningPublicKey?
        if let ssh = values[.sshKey]?.first {
            do { sshKey = try OpenSSHKey.parsePublic(ssh.text) } catch { throw .malformed("\(ssh.place): ssh-key: \(error.detail)") }
        }
        var mailbox: String?
        if let address = values[.mailbox]?.first {
            do { try validateMailbox(String(address.text)) } catch { throw .malformed("\(address.place): mailbox: \(error.detail)") }
            mailbox = String(address.text)
        }
        let signatureValue = value(.signature)
        let signature = try signatureBytes(signatureValue.text, at: "\(signatureValue.place): signature")
        let card = IdentityCard(org: org, name: String(name.text), rootKey: root, manifest: manifest,
                                sshKey: sshKey, mailbox: mailbox, signature: signature)
        // Lines not spelled exactly as this reader writes them (an upper-case key id, say) would be
        // a second encoding of the same card.
        guard card.signedLines.sameBytes(Self.signedText(of: values)) else {
            throw .malformed("\(manifestValue.place): the card's lines are not in their one canonical spelling")
        }
        // The card is trusted only through its root key: the signature covers every other field.
        guard SignatureContext.identityCard.verify(signature, over: card.signedDigest, by: root) else {
            throw .authenticationFailed("\(signatureValue.place): signature: the root key's signature does not verify; the card was changed after it was signed")
        }
        return card
    }

    /// The signed lines as they stood in the text.
    private static func signedText(of values: [Field: [Value]]) -> String {
        Field.allCases.filter { $0 != .signature }.flatMap { field in
            (values[field] ?? []).map { "\(field.rawValue): \($0.text)\n" }
        }.joined()
    }

    /// Splits a value into exactly `shape.count` words separated by single spaces; the first word
    /// must equal `shape[0]` unless it is a placeholder (upper case).
    private static func words(_ value: Value, _ field: Field, shape: [String]) throws(FormatError) -> [Substring] {
        let parts = value.text.splitBytes(UInt8(ascii: " "))
        let place = "\(value.place): \(field.rawValue)"
        guard parts.count == shape.count else { throw .malformed("\(place): expected '\(shape.joined(separator: " "))'") }
        if shape[0].utf8.allSatisfy({ !(0x41...0x5A).contains($0) }), !parts[0].sameBytes(shape[0]) {
            throw .malformed("\(place): algorithm '\(parts[0])' is not '\(shape[0])'")
        }
        return parts
    }

    private static func time(_ text: Substring, at place: String) throws(FormatError) -> UInt64 {
        guard let seconds = RFC3339.parse(text) else {
            throw .malformed("\(place): '\(text)' is not an RFC 3339 UTC time like 2026-11-25T09:30:00Z")
        }
        return seconds
    }

    private static func signingKey(_ text: Substring, at place: String) throws(FormatError) -> SigningPublicKey {
        let bytes = try keyBytes(text, at: place)
        return try converting(place) { () throws(CryptoError) in try SigningPublicKey(bytes: bytes) }
    }

    private static func signatureBytes(_ text: Substring, at place: String) throws(FormatError) -> [UInt8] {
        guard let signature = Base64.decode(text), signature.count == SigningPublicKey.signatureLength else {
            throw .malformed("\(place): not canonical base64 of a \(SigningPublicKey.signatureLength)-byte signature")
        }
        return signature
    }

    /// A key written as `ALG KEYID BASE64`, its id checked against the key.
    private static func manifestKey(algorithm: Substring, id: Substring, base64: Substring, at place: String) throws(FormatError) -> ManifestKey {
        let stated: KeyID
        do { stated = try KeyID(hex: String(id)) } catch { throw .malformed("\(place): \(error.detail)") }
        let bytes = try keyBytes(base64, at: place)
        let key: ManifestKey
        if algorithm.sameBytes("ed25519") {
            key = .signing(try converting(place) { () throws(CryptoError) in try SigningPublicKey(bytes: bytes) })
        } else if algorithm.sameBytes("x25519") {
            key = .encryption(try converting(place) { () throws(CryptoError) in try AgreementPublicKey(bytes: bytes) })
        } else {
            throw .malformed("\(place): algorithm '\(algorithm)' is not 'ed25519' or 'x25519'")
        }
        guard stated == key.id else {
            throw .malformed("\(place): key id \(stated.hex) does not match the key (its id is \(key.id.hex))")
        }
        return key
    }

    private static func keyBytes(_ text: Substring, at place: String) throws(FormatError) -> [UInt8] {
        guard let key = Base64.decode(text), key.count == 32 else {
            throw .malformed("\(place): the key is not canonical base64 of 32 bytes")
        }
        return key
    }

    /// Runs a primitive's constructor, reporting its error as malformed card data at `place`.
    private static func converting<T>(_ place: String, _ body: () throws(CryptoError) -> T) throws(FormatError) -> T {
        do { return try body() } catch { throw .malformed("\(place): \(error.message)") }
    }

}
