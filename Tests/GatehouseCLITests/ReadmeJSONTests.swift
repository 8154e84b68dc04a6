import Foundation
import GatehouseTesting
import Testing

/// README's JSON examples and field lists against the real output of a record sent and
/// acknowledged by two daemons: the same fields, absent (never `null`) where they do not apply,
/// sizes as integers.
@Suite("README's JSON examples match the real output", .serialized)
struct ReadmeJSONTests {
    static let readme = (try? String(contentsOfFile: CompletionAndHelpTests.root + "/README.md", encoding: .utf8)) ?? ""

    /// The text of README after `anchor`.
    static func after(_ anchor: String) -> Substring {
        guard let found = readme.range(of: anchor) else {
            Issue.record("README no longer says \(anchor.debugDescription)")
            return ""
        }
        return readme[found.upperBound...]
    }

    /// The keys of the first ```json example after `anchor`.
    static func exampleKeys(after anchor: String) throws -> Set<String> {
        let text = after(anchor)
        guard let start = text.range(of: "```json\n"), let end = text[start.upperBound...].range(of: "```") else {
            return []
        }
        let object = try JSONSerialization.jsonObject(with: Data(text[start.upperBound..<end.lowerBound].utf8))
        return Set((object as? [String: Any] ?? [:]).keys)
    }

    /// The top-level names of the first `` `{"a", "b": …, "c": [{…}]}` `` list after `anchor`.
    static func listedKeys(after anchor: String) -> Set<String> {
        let text = after(anchor)
        guard let start = text.range(of: "`{") else { return [] }
        var names: Set<String> = [], depth = 0, current: String?, previous: Character = "{"
        for c in text[text.index(before: start.upperBound)...] {
            if var name = current {
                if c == "\"" {
                    if depth == 1 && (previous == "{" || previous == ",") { names.insert(name) }
                    current = nil
                    previous = "\""
                } else { name.append(c); current = name }
                continue
            }
            switch c {
            case "{", "[": depth += 1; previous = c
            case "}", "]": depth -= 1; previous = c
            case "\"": current = ""
            case " ": break
            default: previous = c
            }
            if depth == 0 { break }
        }
        return names
    }

    static func json(_ output: ProcessOutput) -> Any? {
        #expect(output.status == 0, "\(output.stderr)")
        #expect(!output.stdout.contains("null"), "\(output.stdout)")
        return try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
    }

    @Test func everyExampleHasTheFieldsTheCommandsPrint() throws {
        var blocks = Self.readme.components(separatedBy: "```json\n").dropFirst()
            .map { $0.components(separatedBy: "```")[0] }
        blocks += Self.readme.components(separatedBy: "`{").dropFirst().map { $0.components(separatedBy: "}`")[0] }
        #expect(blocks.count >= 4 && !blocks.contains { $0.contains("null") }, "README shows null: \(blocks)")

        let pair = try DaemonPair()
        try pair.start()
        try pair.drop("summary.xml", Array("<summary nhs=\"9990000018\">Ada Testperson</summary>".utf8),
                      from: pair.practice, to: "YOI123")
        #expect(eventually { pair.states(pair.practice) == ["acknowledged"] }, "\(pair.status(pair.practice))")

        let listed = Self.json(try GatehouseProcess.run(["status", "--home", pair.practice, "--json"]))
            as? [[String: Any]]
        let bundle = try #require(listed?.first)
        #expect(Set(bundle.keys) == (try Self.exampleKeys(after: "`gatehouse status --json` prints")), "\(bundle)")
        let id = try #require(bundle["bundle_id"] as? String)
        let one = Self.json(try GatehouseProcess.run(["status", "--home", pair.practice, id, "--json"]))
            as? [String: Any]
        #expect(Set(one?.keys ?? [:].keys) == Set(bundle.keys).union(["history"]))

        let evidence = pair.practice + "/spool/evidence/out/\(id).ghb"
        let inspected = Self.json(try GatehouseProcess.run(["inspect", "--home", pair.prison, "--json", evidence]))
        #expect(Set((inspected as? [String: Any] ?? [:]).keys)
                == (try Self.exampleKeys(after: "`gatehouse inspect --json BUNDLE` prints")))

        let inbox = Self.json(try GatehouseProcess.run(["inbox", "--home", pair.prison, "--json"])) as? [[String: Any]]
        let received = try #require(inbox?.first)
        // Published, a file dropped alone (a pack naming no NHS numbers): `reason` and
        // `nhs_numbers` do not apply.
        #expect(Set(received.keys).union(["reason", "nhs_numbers"]) == Self.listedKeys(after: "`gatehouse inbox --json` prints"),
                "\(received)")
        let file = try #require((received["files"] as? [[String: Any]])?.first)
        #expect(Set(file.keys) == ["name", "size", "sha256"])
        #expect(file["size"] is Int && !(file["size"] is String), "inbox --json size: \(file)")

        let partners = Self.json(try GatehouseProcess.run(["partners", "list", "--home", pair.practice, "--json"]))
            as? [[String: Any]]
        #expect(Set(partners?.first?.keys ?? [:].keys)
                == Self.listedKeys(after: "`gatehouse partners list --json` prints"))
        #expect(pair.daemons[pair.practice]?.stop() == 0 && pair.daemons[pair.prison]?.stop() == 0)
    }
}
