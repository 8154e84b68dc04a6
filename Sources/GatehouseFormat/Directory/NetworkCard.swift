/// A network's card (DIRECTORY.md §8): what a gateway pins once, after reading the fingerprint
/// aloud or receiving it with its installation. It names the network (the log's origin) and the
/// key that signs its checkpoints, as a C2SP verifier key.
///
/// ```
/// -----BEGIN GATEHOUSE NETWORK CARD-----
/// network: directory.nhs.example/england
/// verifier-key: directory.nhs.example/england+1b2c3d4e+AVw…
/// -----END GATEHOUSE NETWORK CARD-----
/// ```
public struct NetworkCard: Hashable, Sendable {
    /// The armour line that opens a network card.
    public static let beginLine = "-----BEGIN GATEHOUSE NETWORK CARD-----"
    /// The armour line that closes a network card.
    public static let endLine = "-----END GATEHOUSE NETWORK CARD-----"
    /// Longest card text accepted, covering email included.
    public static let maxTextLength = 16 * 1024

    /// The checkpoint key; its name is the network's name and the log's origin.
    public let verifier: NoteVerifierKey

    /// The card for `verifier`.
    public init(verifier: NoteVerifierKey) { self.verifier = verifier }

    /// The network's name.
    public var network: String { verifier.name }

    /// The fingerprint to read aloud, in the same form as an organisation's (FORMAT.md §2).
    public var fingerprint: String { Fingerprint.of(verifier.key) }

    /// The card text, armour included, ending in LF.
    public var text: String {
        "\(Self.beginLine)\nnetwork: \(network)\nverifier-key: \(verifier.text)\n\(Self.endLine)\n"
    }

    /// Parses a card: text around the armour is ignored, CRLF is read as LF, and between the
    /// armour lines there must be exactly the two lines above, agreeing on the name.
    public static func parse(_ text: String) throws(FormatError) -> NetworkCard {
        guard text.utf8.count <= maxTextLength else { throw .malformed("network card: larger than 16 KiB") }
        let lines = text.splitBytes(0x0A).map { $0.utf8.last == 0x0D ? Substring($0.utf8.dropLast()) : $0 }
        guard let begin = lines.firstIndex(where: { $0.sameBytes(beginLine) }), begin + 3 < lines.count,
            lines[begin + 3].sameBytes(endLine)
        else {
            throw .malformed("network card: no '\(beginLine)' block of two lines")
        }
        let name = lines[begin + 1]
        let key = lines[begin + 2]
        guard name.hasBytePrefix("network: "), key.hasBytePrefix("verifier-key: ") else {
            throw .malformed("network card: expected 'network:' then 'verifier-key:'")
        }
        let verifier = try NoteVerifierKey.parse(String(key.dropFirst(14)))
        guard verifier.name.sameBytes(name.dropFirst(9)) else {
            throw .malformed("network card: the network name and the verifier key's name differ")
        }
        return NetworkCard(verifier: verifier)
    }
}
