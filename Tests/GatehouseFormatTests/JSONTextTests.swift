import Foundation
import GatehouseFormat
import Testing

/// JSONText must write what JSONEncoder writes with the options every `--json` command uses, so
/// that commands printed through either look the same and parse the same.
@Suite("JSON text written like JSONEncoder")
struct JSONTextTests {
    private struct Item: Encodable {
        let name: String
        let size: Int64
        let note: String?
        let tags: [String]
        let nested: [Item]?
    }

    private func json(_ item: Item) -> JSONText {
        .fields(["name": .string(item.name), "size": .integer(item.size), "note": item.note.map(JSONText.string),
                 "tags": .array(item.tags.map(JSONText.string)), "nested": item.nested.map { .array($0.map(json)) }])
    }

    private func foundation(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Every control character, quotes, backslash, slash, DEL, and text beyond ASCII.
    private static let awkward: [String] = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) } + [
        "\"", "\\", "/", "a/b", "\u{7F}", "é", "Żółć", "\u{2028}\u{2029}", "🩺 record-9990000001.xml", "", " ", "\r\n",
    ]

    @Test func everyKindOfStringIsEscapedTheSame() throws {
        for text in Self.awkward {
            let item = Item(name: text, size: -1, note: text, tags: [text], nested: nil)
            #expect(json(item).text == (try foundation(item)), "text \(Array(text.unicodeScalars.map(\.value)))")
        }
        #expect(JSONText.array(Self.awkward.map(JSONText.string)).text == (try foundation(Self.awkward)))
    }

    @Test func nestingEmptyArraysAbsentOptionalsAndNumbers() throws {
        let leaf = Item(name: "leaf", size: Int64.max, note: nil, tags: [], nested: [])
        let items = [
            Item(name: "a", size: 0, note: nil, tags: [], nested: nil),
            Item(name: "b", size: Int64.min, note: "n", tags: ["x", "y"], nested: [leaf, leaf]),
        ]
        #expect(JSONText.array(items.map(json)).text == (try foundation(items)))
        #expect(JSONText.array([]).text == (try foundation([Item]())))
        #expect(json(leaf).text == (try foundation(leaf)))
    }

    @Test func keysAreSortedWhateverTheOrderGiven() throws {
        let keys = ["zeta", "bundle_sha256", "bundle_id", "a", "B", "_x", "a_b", "ab", "a1", "10", "9"]
        let value = JSONText.object(Dictionary(uniqueKeysWithValues: keys.map { ($0, JSONText.integer(Int64($0.utf8.count))) }))
        #expect(value.text == (try foundation(Dictionary(uniqueKeysWithValues: keys.map { ($0, $0.utf8.count) }))))
    }
}
