import Foundation
import GatehouseTesting
import Testing

/// Replays every input the fuzzer ever crashed on, and the seed corpus, through the same harness.
/// Layout: `FuzzRegressions/<target>/<file>` and `Tests/Fuzz/corpus/<target>/<file>`.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let folders = [here.appendingPathComponent("FuzzRegressions"),
                          here.deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")]

    static func inputs() -> [String] {
        var found: [String] = []
        for folder in folders {
            for target in FuzzHarness.Target.allCases {
                let dir = folder.appendingPathComponent(target.rawValue)
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
                found += names.filter { !$0.hasPrefix(".") }.map { "\(dir.path)/\($0)" }
            }
        }
        return found.sorted()
    }

    @Test func seedCorpusExists() {
        for target in FuzzHarness.Target.allCases {
            #expect(Self.inputs().contains { $0.contains("/\(target.rawValue)/") }, "no inputs for \(target.rawValue)")
        }
    }

    @Test(arguments: inputs())
    func replay(_ path: String) throws {
        let target = try #require(FuzzHarness.Target(rawValue: URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent))
        FuzzHarness.run(target, Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }
}
