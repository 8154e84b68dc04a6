public import GatehouseCrypto

/// The body of a C2SP tlog-witness `POST /add-checkpoint` (DIRECTORY.md §10.1): an old size
/// line, zero to 63 consistency proof lines, an empty line, then the signed checkpoint.
///
///     old 4
///     PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
///
///     directory.nhs.example/test
///     …
public struct AddCheckpointRequest: Hashable, Sendable {
    /// Most proof lines: tlog-witness says a client "MUST NOT send more than 63".
    public static let maxProofLines = 63
    /// Longest body read: `old` with 20 digits, 63 proof lines of 45 bytes, the empty line and the
    /// longest signed note (``SignedNote/maxLength``), rounded up. Anything longer is refused
    /// before it is parsed, so a client cannot make a witness hold more than this.
    public static let maxLength = 20 * 1024

    /// The size of the checkpoint the client believes the witness cosigned last (0: none).
    public let oldSize: UInt64
    /// The RFC 9162 consistency proof from `oldSize` to the checkpoint's size.
    public let proof: [SHA256Digest]
    /// The signed checkpoint, as sent (not yet verified).
    public let checkpoint: [UInt8]

    /// A request; throws `invalidInput` for more than 63 proof hashes.
    public init(oldSize: UInt64, proof: [SHA256Digest], checkpoint: [UInt8]) throws(FormatError) {
        guard proof.count <= Self.maxProofLines else {
            throw .invalidInput("add-checkpoint: a consistency proof of \(proof.count) hashes (at most 63)")
        }
        self.oldSize = oldSize
        self.proof = proof
        self.checkpoint = checkpoint
    }

    /// The body as sent.
    public var bytes: [UInt8] {
        Array(("old \(oldSize)\n" + proof.map { Base64.encode($0.bytes) + "\n" }.joined() + "\n").utf8) + checkpoint
    }

    /// Parses a body strictly: `old N` in decimal without leading zeros, each proof line canonical
    /// base64 of 32 bytes, at most 63 of them, then an empty line. The checkpoint's form is left to
    /// ``SignedNote/parse(_:)``, its signature to the witness.
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> AddCheckpointRequest {
        guard bytes.count <= maxLength else { throw .malformed("add-checkpoint: larger than \(maxLength) bytes") }
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        // Header lines up to the empty one; every line must end in LF (a body cut short is refused).
        while true {
            guard let end = bytes[start...].firstIndex(of: 0x0A) else {
                throw .malformed("add-checkpoint: no empty line before the checkpoint")
            }
            let line = bytes[start..<end]
            start = end + 1
            if line.isEmpty { break }
            lines.append(line)
            guard lines.count <= 1 + maxProofLines else {
                throw .malformed("add-checkpoint: more than \(maxProofLines) consistency proof lines")
            }
        }
        guard let first = lines.first, first.starts(with: Array("old ".utf8)) else {
            throw .malformed("add-checkpoint: the first line is not 'old SIZE'")
        }
        let digits = String(decoding: first.dropFirst(4), as: UTF8.self)
        guard let oldSize = UInt64(digits), digits == String(oldSize) else {
            throw .malformed("add-checkpoint: the old size is not a decimal number without leading zeros")
        }
        var proof: [SHA256Digest] = []
        for line in lines.dropFirst() {
            guard let hash = Base64.decode(String(decoding: line, as: UTF8.self)), let digest = SHA256Digest(bytes: hash)
            else { throw .malformed("add-checkpoint: a consistency proof line is not base64 of 32 bytes") }
            proof.append(digest)
        }
        return try AddCheckpointRequest(oldSize: oldSize, proof: proof, checkpoint: Array(bytes[start...]))
    }

    /// The 200 answer: one signature line per cosignature, each ending in LF.
    public static func responseBody(_ cosignatures: [SignedNote.Signature]) -> [UInt8] {
        Array(cosignatures.map { $0.line + "\n" }.joined().utf8)
    }

    /// The witness's cosignature in a 200 answer `body` to a request for `checkpoint`: the answer's
    /// lines are appended to the checkpoint as signed-note lines (as tlog-witness suggests), and
    /// the checkpoint with `witness`'s line(s) only is returned; throws when `witness` gave none
    /// that verifies. Lines by other keys are ignored.
    public static func cosigned(
        _ checkpoint: SignedNote, answer body: [UInt8], by witness: WitnessKey
    ) throws(FormatError) -> SignedNote {
        guard body.count <= SignedNote.maxLength, body.last == 0x0A else {
            throw .malformed("add-checkpoint answer: not signature lines ending in LF")
        }
        let joined = try SignedNote.parse(checkpoint.bytes + body)
        let lines = joined.signatures.dropFirst(checkpoint.signatures.count).filter {
            $0.keyID == witness.keyID && $0.name.sameBytes(witness.name)
        }
        let mine = SignedNote(text: checkpoint.text, signatures: checkpoint.signatures + lines)
        guard try witness.cosignedTime(mine) != nil else {
            throw .authenticationFailed("add-checkpoint answer: no cosignature by \(witness.name)")
        }
        return mine
    }
}

extension SignedNote {
    /// The same text with only `signatures` (a subset of its own lines, in their order).
    public func keeping(_ signatures: [Signature]) -> SignedNote { SignedNote(text: text, signatures: signatures) }
}
