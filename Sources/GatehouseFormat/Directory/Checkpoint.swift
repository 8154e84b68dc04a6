public import GatehouseCrypto

/// The body of a C2SP tlog-checkpoint (DIRECTORY.md §4): origin, tree size, base64 root hash,
/// and Gatehouse's one extension line, `time RFC3339`, when the authority signed it.
public struct Checkpoint: Hashable, Sendable {
    /// The log's origin, also the name of the key that signs it.
    public let origin: String
    /// The number of entries in the tree.
    public let size: UInt64
    /// The RFC 9162 root hash of the tree of `size` entries.
    public let root: SHA256Digest
    /// When the authority signed the checkpoint, in seconds since 1970 (UTC).
    public let time: UInt64
    /// During a rotation of the network's root key, the key that signs from now on, vouched for
    /// by the old key's signature on this checkpoint (DIRECTORY.md §4.1).
    public let nextKey: NoteVerifierKey?

    /// A checkpoint; throws `invalidInput` for an empty origin or one with a control character,
    /// or a next key under another name. (A network's origin is also its key name, which
    /// ``NoteVerifierKey`` checks more strictly.)
    public init(
        origin: String, size: UInt64, root: SHA256Digest, time: UInt64, nextKey: NoteVerifierKey? = nil
    ) throws(FormatError) {
        if let nextKey, !nextKey.name.sameBytes(origin) {
            throw .invalidInput("checkpoint: the next key is not named \(origin)")
        }
        self.nextKey = nextKey
        guard !origin.isEmpty, origin.utf8.count <= NoteVerifierKey.maxNameLength,
            origin.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F })
        else {
            throw .invalidInput(
                "checkpoint: the origin must be 1 to \(NoteVerifierKey.maxNameLength) bytes without control characters")
        }
        guard time <= RFC3339.maxSeconds else { throw .invalidInput("checkpoint: a time after the year 9999") }
        self.origin = origin
        self.size = size
        self.root = root
        self.time = time
    }

    /// The note text: four lines, each ending in LF.
    public var text: String {
        "\(origin)\n\(size)\n\(Base64.encode(root.bytes))\ntime \(RFC3339.format(time) ?? "")\n"
            + (nextKey.map { "key \($0.text)\n" } ?? "")
    }

    /// Parses the text of a checkpoint note strictly: exactly the four lines above, the size in
    /// decimal without leading zeros, the hash canonical base64 of 32 bytes.
    public static func parse(_ text: String) throws(FormatError) -> Checkpoint {
        let lines = text.splitBytes(0x0A)
        guard lines.count == 5 || lines.count == 6, lines[lines.count - 1].isEmpty else {
            throw .malformed("checkpoint: not four lines (or five, with a next key) ending in LF")
        }
        var nextKey: NoteVerifierKey?
        if lines.count == 6 {
            guard lines[4].hasBytePrefix("key ") else {
                throw .malformed("checkpoint: the fifth line is not 'key VERIFIER-KEY'")
            }
            nextKey = try NoteVerifierKey.parse(String(lines[4].dropFirst(4)))
        }
        let sizeText = lines[1]
        guard let size = UInt64(sizeText), sizeText.sameBytes(String(size)) else {
            throw .malformed("checkpoint: the tree size \(String(sizeText).debugDescription) is not a decimal number")
        }
        guard let hash = Base64.decode(lines[2]), let root = SHA256Digest(bytes: hash) else {
            throw .malformed("checkpoint: the root hash is not base64 of 32 bytes")
        }
        guard lines[3].hasBytePrefix("time "), let time = RFC3339.parse(lines[3].utf8.dropFirst(5).asText),
            lines[3].sameBytes("time " + (RFC3339.format(time) ?? ""))
        else { throw .malformed("checkpoint: the fourth line is not 'time YYYY-MM-DDTHH:MM:SSZ'") }
        do {
            return try Checkpoint(origin: String(lines[0]), size: size, root: root, time: time, nextKey: nextKey)
        } catch {
            throw .malformed("checkpoint: bad origin: \(error.detail)")
        }
    }

    /// Opens a signed checkpoint: the note must carry a good signature by `verifier`, its text
    /// must be a checkpoint, and its origin must be `verifier`'s name (DIRECTORY.md §4).
    public static func open(_ bytes: [UInt8], verifier: NoteVerifierKey) throws(FormatError) -> (Checkpoint, SignedNote)
    {
        try open(bytes, verifiers: [verifier])
    }

    /// Opens a signed checkpoint that must carry a good signature by at least one of `verifiers`
    /// (the network's keys, all under its name): every signature by any of them must verify.
    public static func open(
        _ bytes: [UInt8], verifiers: [NoteVerifierKey]
    ) throws(FormatError) -> (Checkpoint, SignedNote) {
        precondition(!verifiers.isEmpty, "no key to verify a checkpoint with")
        let note = try SignedNote.parse(bytes)
        var signed = false
        for verifier in verifiers {
            do {
                try note.verified(by: verifier)
                signed = true
            } catch {
                // No signature by this key is fine; a bad one refuses the note whole.
                if note.signatures.contains(where: { $0.keyID == verifier.keyID && $0.name.sameBytes(verifier.name) }) {
                    throw error
                }
            }
        }
        guard signed else { throw .authenticationFailed("signed note: no signature by \(verifiers[0].name)") }
        let checkpoint = try parse(note.text)
        guard checkpoint.origin.sameBytes(verifiers[0].name) else {
            throw .authenticationFailed(
                "checkpoint: origin \(checkpoint.origin.debugDescription) is not \(verifiers[0].name.debugDescription)")
        }
        return (checkpoint, note)
    }
}

extension Collection where Element == UInt8 {
    /// The bytes as text (they are already known to be UTF-8).
    var asText: String { String(decoding: Array(self), as: UTF8.self) }
}
