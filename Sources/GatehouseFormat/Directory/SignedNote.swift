public import GatehouseCrypto

/// A C2SP signed note (DIRECTORY.md §3): a text ending in LF, an empty line, then one line per
/// signature, `— NAME BASE64(keyid || signature)`.
///
/// Parsing checks the form only; ``verified(by:)`` decides whether a trusted key signed it. The
/// text must never be used before that.
public struct SignedNote: Hashable, Sendable {
    /// One signature line.
    public struct Signature: Hashable, Sendable {
        /// The key name on the line.
        public let name: String
        /// The first four bytes of the decoded signature, big-endian.
        public let keyID: UInt32
        /// The signature proper (the bytes after the key id).
        public let signature: [UInt8]

        /// A signature line: by `name` with `keyID`, `signature` being the bytes after the key id.
        public init(name: String, keyID: UInt32, signature: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.signature = signature
        }

        /// The line, without its LF.
        var line: String {
            let id = [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: keyID >> UInt32($0)) }
            return "\u{2014} \(name) \(Base64.encode(id + signature))"
        }
    }

    /// Longest note accepted, in bytes: a checkpoint with 16 Ed25519 cosignatures is under 2 KiB.
    public static let maxLength = 16 * 1024
    /// Most signature lines accepted (the spec asks verifiers to accept at least 16).
    public static let maxSignatures = 32
    private static let dash: [UInt8] = Array("\u{2014} ".utf8)

    /// The note text, its final LF included.
    public let text: String
    /// The signatures, in the order they appear.
    public let signatures: [Signature]

    /// A note over `text` (which must end in LF and contain no control characters besides LF)
    /// signed by `key` under the verifier `verifier`.
    public static func sign(
        _ text: String, verifier: NoteVerifierKey, key: borrowing SigningSecretKey
    ) throws(FormatError) -> SignedNote {
        guard key.publicKey == verifier.key else {
            throw .invalidInput("the secret key does not match the verifier key \(verifier.name)")
        }
        try checkText(Array(text.utf8), place: "note text")
        let signature = key.sign(Array(text.utf8))
        return SignedNote(
            text: text, signatures: [Signature(name: verifier.name, keyID: verifier.keyID, signature: signature)])
    }

    /// The same note with one more signature line (a witness's cosignature, for instance).
    public func adding(_ signature: Signature) -> SignedNote {
        SignedNote(text: text, signatures: signatures + [signature])
    }

    /// The note as bytes: text, empty line, signature lines.
    public var bytes: [UInt8] {
        Array((text + "\n" + signatures.map { $0.line + "\n" }.joined()).utf8)
    }

    /// Parses a note, checking its form (signed-note §Format) but no signature.
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> SignedNote {
        guard bytes.count <= maxLength else { throw .malformed("signed note: larger than \(maxLength) bytes") }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .malformed("signed note: not UTF-8") }
        guard bytes.allSatisfy({ $0 >= 0x20 || $0 == 0x0A }), bytes.last == 0x0A else {
            throw .malformed("signed note: a control character, or no LF at the end")
        }
        // The text ends at the last empty line: find the last "\n\n".
        var split = -1
        var i = bytes.count - 2
        while i >= 0 {
            if bytes[i] == 0x0A && bytes[i + 1] == 0x0A {
                split = i
                break
            }
            i -= 1
        }
        guard split >= 0 else { throw .malformed("signed note: no empty line before the signatures") }
        let text = Array(bytes[...split])
        try checkText(text, place: "signed note")
        let lines = bytes[(split + 2)...].split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
        guard !lines.isEmpty, lines.count <= maxSignatures else {
            throw .malformed("signed note: \(lines.count) signature lines (1 to \(maxSignatures))")
        }
        var signatures: [Signature] = []
        for line in lines { signatures.append(try parseSignature(Array(line))) }
        return SignedNote(text: String(decoding: text, as: UTF8.self), signatures: signatures)
    }

    private static func checkText(_ text: [UInt8], place: String) throws(FormatError) {
        guard !text.isEmpty, text.last == 0x0A, text.allSatisfy({ $0 >= 0x20 || $0 == 0x0A }),
            String(validating: text, as: UTF8.self) != nil
        else { throw .malformed("\(place): the text must be UTF-8 without control characters and end in LF") }
    }

    private static func parseSignature(_ line: [UInt8]) throws(FormatError) -> Signature {
        guard line.starts(with: dash) else {
            throw .malformed("signed note: a signature line does not start with '— '")
        }
        let rest = line.dropFirst(dash.count)
        guard let space = rest.lastIndex(of: 0x20) else {
            throw .malformed("signed note: a signature line has no signature")
        }
        let name = String(decoding: rest[..<space], as: UTF8.self)
        guard (try? NoteVerifierKey.validateName(name)) != nil else {
            throw .malformed("signed note: bad key name \(name.debugDescription)")
        }
        guard let raw = Base64.decode(String(decoding: rest[(space + 1)...], as: UTF8.self)), raw.count > 4 else {
            throw .malformed("signed note: the signature of \(name) is not base64 of more than 4 bytes")
        }
        let id = raw.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Signature(name: name, keyID: id, signature: Array(raw.dropFirst(4)))
    }

    /// The signatures by `verifier`'s key (same name and key id), each checked. Throws
    /// `authenticationFailed` when there is none, or when one does not verify: a note that a
    /// known key appears to have signed wrongly is refused whole (signed-note §Signatures).
    /// Signatures by other keys are ignored, as the spec requires.
    public func verified(by verifier: NoteVerifierKey) throws(FormatError) {
        let mine = signatures.filter { $0.keyID == verifier.keyID && $0.name.sameBytes(verifier.name) }
        guard !mine.isEmpty else { throw .authenticationFailed("signed note: no signature by \(verifier.name)") }
        for signature in mine where !verifier.key.isValidSignature(signature.signature, for: Array(text.utf8)) {
            throw .authenticationFailed("signed note: the signature by \(verifier.name) does not verify")
        }
    }
}
