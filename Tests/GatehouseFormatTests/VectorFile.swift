import Foundation
import GatehouseCrypto
import GatehouseFormat
import GatehouseTesting

/// A committed test vector: `key: value` header lines, a blank line, then the bundle bytes
/// (FORMAT.md, "Test vectors").
struct VectorFile {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

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
        let fields = try text.split(separator: "\n").map { line -> (String, String) in
            guard let colon = line.firstIndex(of: ":") else { throw VectorError("\(name): bad header line \(line)") }
            return (String(line[..<colon]), String(line[line.index(colon, offsetBy: 2)...]))
        }
        return VectorFile(name: name, fields: fields, body: Array(bytes[(split + 2)...]))
    }

    static func all() throws -> [VectorFile] {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".vector") }.sorted()
        return try names.map { name in
            try parse(name: name, bytes: Array(try Data(contentsOf: folder.appendingPathComponent(name))))
        }
    }
}

struct VectorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
