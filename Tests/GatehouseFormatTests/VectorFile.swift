import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting

/// A published test vector (docs/vectors/README.md): `key: value` header lines, a blank line,
/// then the bundle bytes. The one copy lives in docs/vectors, outside Tests/, so that another
/// implementation can run the same files.
struct VectorFile {
    /// `docs/vectors` of this checkout.
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/vectors")
    /// The identity cards every vector's reader holds: `docs/vectors/cards/<ODS>.card`.
    static let cardFolder = folder.appendingPathComponent("cards")

    var name: String
    var fields: [(String, String)]
    var body: [UInt8]

    func values(_ key: String) -> [String] { fields.filter { $0.0 == key }.map(\.1) }
    func value(_ key: String) -> String? { values(key).first }

    func encoded() -> [UInt8] {
        Array(fields.map { "\($0.0): \($0.1)\n" }.joined().utf8) + [0x0A] + body
    }

    static func parse(name: String, bytes: [UInt8]) throws -> VectorFile {
        guard let split = (0..<(bytes.count - 1)).first(where: { bytes[$0] == 0x0A && bytes[$0 + 1] == 0x0A }) else {
            throw VectorError("\(name): no blank line after the header")
        }
        let text = String(decoding: bytes[0..<split], as: UTF8.self)
        let fields = try text.splitBytes(0x0A).map { line -> (String, String) in
            let parts = line.splitBytes(UInt8(ascii: ":"), maxSplits: 1)
            guard parts.count == 2, parts[1].hasBytePrefix(" ") else { throw VectorError("\(name): bad header line \(line)") }
            return (String(parts[0]), String(Substring(parts[1].utf8.dropFirst())))
        }
        return VectorFile(name: name, fields: fields, body: Array(bytes[(split + 2)...]))
    }

    static func all() throws -> [VectorFile] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasByteSuffix(".vector") }.sorted()
        return try names.map { name in
            try parse(name: name, bytes: Array(try Data(contentsOf: folder.appendingPathComponent(name))))
        }
    }

    /// The cards in docs/vectors/cards, by organisation.
    static func cards() throws -> [ODSCode: IdentityCard] {
        let names = try FileManager.default.contentsOfDirectory(atPath: cardFolder.path).filter { $0.hasByteSuffix(".card") }
        var cards: [ODSCode: IdentityCard] = [:]
        for name in names {
            let card = try IdentityCard.parse(try String(contentsOf: cardFolder.appendingPathComponent(name), encoding: .utf8))
            cards[card.org] = card
        }
        return cards
    }
}

struct VectorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
