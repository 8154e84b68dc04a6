/// The kind of message a pack is, as MESH's workflow ids say it (FORMAT.md §3.7): 1 to 32 bytes
/// of lower-case ASCII letters, digits and hyphens, starting with a letter and not ending with a
/// hyphen (`reception-summary`, `gp-record`).
///
/// A receiving gateway may publish each workflow in a folder of its own, so a workflow is used as
/// a folder name: the rule leaves no room for `..`, a slash, a dot-file, case twins or anything a
/// person could misread.
public struct Workflow: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Longest workflow id, in bytes.
    public static let maxLength = 32
    /// The workflow of a pack that names none, unless `gatehouse.toml` says otherwise.
    public static let other = Workflow(checked: "other")
    /// The workflows a gateway knows unless `gatehouse.toml` lists its own.
    public static let standard = ["reception-summary", "release-summary", "gp-record", "medication", "other"]
        .map { Workflow(checked: $0) }

    /// The id.
    public let value: String

    /// Validates a workflow id; the error says what is wrong with it.
    public init(_ value: String) throws(FormatError) {
        // Bytes: the rule is ASCII, and a Character test would pass "a\u{301}" as one letter.
        let bytes = Array(value.utf8)
        let shown = ReadableText.shown(value)
        guard (1...Self.maxLength).contains(bytes.count) else {
            throw .invalidInput("workflow \(shown) is not 1 to \(Self.maxLength) bytes long")
        }
        guard bytes.allSatisfy({ Self.isLetter($0) || Self.isDigit($0) || $0 == UInt8(ascii: "-") }) else {
            throw .invalidInput("workflow \(shown) may hold only lower-case letters a-z, digits and hyphens")
        }
        guard Self.isLetter(bytes[0]), bytes.last != UInt8(ascii: "-") else {
            throw .invalidInput("workflow \(shown) must start with a letter and not end with a hyphen")
        }
        self.value = value
    }

    private init(checked value: String) { self.value = value }

    private static func isLetter(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) }
    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    public var description: String { value }
    public static func < (a: Workflow, b: Workflow) -> Bool { a.value.utf8.lexicographicallyPrecedes(b.value.utf8) }
}

/// What a pack is about, for the people who receive it: a subject, the kind of message and the
/// patients' NHS numbers. It travels in the signed manifest only, inside the encryption
/// (FORMAT.md §3.6), like the file names.
public struct PackContext: Hashable, Sendable {
    /// Longest subject in UTF-8 bytes.
    public static let maxSubjectLength = 1024
    /// Most NHS numbers one pack may name.
    public static let maxNHSNumbers = 64

    /// One line of readable text for staff (may be empty).
    public var subject: String
    /// The kind of message.
    public var workflow: Workflow
    /// The patients the pack is about, ten digits each, distinct, in the order given.
    public var nhsNumbers: [String]

    /// A context; ``check()`` says whether it may be sealed.
    public init(subject: String = "", workflow: Workflow = .other, nhsNumbers: [String] = []) {
        self.subject = subject
        self.workflow = workflow
        self.nhsNumbers = nhsNumbers
    }

    /// Throws `invalidInput` when the subject is not readable text of at most 1024 bytes (§3.7),
    /// or an NHS number fails its check (§3.8), appears twice, or there are more than 64.
    /// The subject is never quoted in a message: it may name a patient.
    public func check() throws(FormatError) {
        guard subject.utf8.count <= Self.maxSubjectLength else {
            throw .invalidInput("the subject is longer than \(Self.maxSubjectLength) bytes")
        }
        try ReadableText.check(subject, "the subject", quoting: false)
        guard nhsNumbers.count <= Self.maxNHSNumbers else {
            throw .invalidInput("a pack names at most \(Self.maxNHSNumbers) NHS numbers, not \(nhsNumbers.count)")
        }
        var seen = Set<String>()
        for number in nhsNumbers {
            guard NHSNumber.isValid(number) else { throw .invalidInput(NHSNumber.invalidMessage(number)) }
            guard seen.insert(number).inserted else { throw .invalidInput("NHS number \(number) is given twice") }
        }
    }
}
