public import GatehouseCrypto

/// An ODS organisation code: 3 to 9 characters `A`–`Z`, `0`–`9` (FORMAT.md §2).
public struct ODSCode: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// Shortest valid code.
    public static let minLength = 3
    /// Longest valid code.
    public static let maxLength = 9

    /// The code, upper case.
    public let value: String

    /// Validates a canonical (upper-case) code as found in a format.
    public init(_ value: String) throws(FormatError) {
        let bytes = Array(value.utf8)
        guard (Self.minLength...Self.maxLength).contains(bytes.count),
              bytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x30...0x39).contains($0) })
        else {
            throw .invalidInput("'\(value.debugDescription.dropFirst().dropLast())' is not an ODS code (3 to 9 letters and digits, e.g. A81001)")
        }
        self.value = value
    }

    /// Validates a code typed by a person, accepting lower case.
    public init(userInput: String) throws(FormatError) {
        // ASCII letters only: Unicode upper-casing would turn "yoı123" (dotless i) into YOI123
        // and "aß01" into ASS01, accepting look-alikes of a partner's code.
        let upper = userInput.utf8.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
        try self.init(String(decoding: upper, as: UTF8.self))
    }

    public var description: String { value }
    public static func < (a: ODSCode, b: ODSCode) -> Bool { a.value.utf8.lexicographicallyPrecedes(b.value.utf8) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// An 8-byte key id derived from a public key (FORMAT.md §2).
public struct KeyID: Hashable, Sendable, CustomStringConvertible {
    /// Length in bytes.
    public static let length = 8
    /// The id bytes.
    public let bytes: [UInt8]

    /// Wraps 8 bytes.
    public init(bytes: [UInt8]) throws(FormatError) {
        guard bytes.count == Self.length else { throw .malformed("a key id is \(Self.length) bytes") }
        self.bytes = bytes
    }

    /// Parses 16 hex digits.
    public init(hex: String) throws(FormatError) {
        guard hex.utf8.count == 2 * Self.length, let bytes = [UInt8](hex: hex), hex.sameBytes(bytes.hexString) else {
            throw .malformed("'\(hex)' is not a key id (16 lower-case hex digits)")
        }
        self.bytes = bytes
    }

    /// The id of an Ed25519 key.
    public init(signing key: SigningPublicKey) { self.init(algorithm: "ed25519", key: key.bytes) }
    /// The id of an X25519 key.
    public init(agreement key: AgreementPublicKey) { self.init(algorithm: "x25519", key: key.bytes) }

    private init(algorithm: String, key: [UInt8]) {
        let hasher = SHA256Hasher()
        hasher.update(Array("gatehouse/v1/key-id\0".utf8))
        hasher.update(Array(algorithm.utf8) + [0])
        hasher.update(key)
        bytes = Array(hasher.finalize().bytes.prefix(Self.length))
    }

    /// 16 lower-case hex digits.
    public var hex: String { bytes.hexString }
    public var description: String { hex }
}

/// A bundle id: 16 random bytes assigned once by the sender (FORMAT.md §2).
public struct BundleID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// Length in bytes.
    public static let length = 16
    /// The id bytes.
    public let bytes: [UInt8]

    /// Wraps 16 bytes.
    public init(bytes: [UInt8]) throws(FormatError) {
        guard bytes.count == Self.length else { throw .malformed("a bundle id is \(Self.length) bytes") }
        self.bytes = bytes
    }

    /// Parses 32 lower-case hex digits.
    public init(hex: String) throws(FormatError) {
        guard hex.utf8.count == 2 * Self.length, let bytes = [UInt8](hex: hex), hex.sameBytes(bytes.hexString) else {
            throw .invalidInput("'\(hex)' is not a bundle id (32 lower-case hex digits)")
        }
        self.bytes = bytes
    }

    /// A fresh random id.
    public static func random() -> BundleID { try! BundleID(bytes: randomBytes(length)) }

    /// 32 lower-case hex digits.
    public var hex: String { bytes.hexString }
    public var description: String { hex }
    public static func < (a: BundleID, b: BundleID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }

    /// Decodes the hex form (as journals and JSON listings hold it).
    public init(from decoder: any Decoder) throws {
        try self.init(hex: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// The root-key fingerprint that security officers read to each other over the phone
/// (FORMAT.md §2): six groups of five decimal digits.
public enum Fingerprint {
    /// `27318 00421 93570 11164 58200 76033` for `rootKey`.
    public static func of(_ rootKey: SigningPublicKey) -> String {
        let hasher = SHA256Hasher()
        hasher.update(Array("gatehouse/v1/fingerprint\0".utf8))
        hasher.update(rootKey.bytes)
        let h = hasher.finalize().bytes
        return (0..<6).map { i -> String in
            let value = h[(5 * i)..<(5 * i + 5)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 100_000
            let digits = String(value)
            return String(repeating: "0", count: 5 - digits.count) + digits
        }.joined(separator: " ")
    }
}
