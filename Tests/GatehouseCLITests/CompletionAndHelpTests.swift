import Foundation
import GatehouseTesting
import Testing

/// The committed shell completions match the command tree, and every command's `--help`
/// shows examples.
@Suite("completions and help")
struct CompletionAndHelpTests {
    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test(arguments: [("bash", "gatehouse.bash"), ("zsh", "_gatehouse")])
    func committedCompletionsAreCurrent(shell: String, file: String) throws {
        let generated = try GatehouseProcess.run(["--generate-completion-script", shell])
        #expect(generated.status == 0, "\(generated.stderr)")
        let committed = try String(contentsOfFile: "\(Self.root)/contrib/completions/\(file)", encoding: .utf8)
        #expect(generated.stdout == committed, "contrib/completions/\(file) is stale: run scripts/completions.sh and commit the result")
    }

    /// Every command and subcommand, found by walking the SUBCOMMANDS sections of `--help`.
    static func commands(_ path: [String] = []) throws -> [[String]] {
        let help = try GatehouseProcess.run(path + ["--help"]).stdout
        guard let section = help.components(separatedBy: "SUBCOMMANDS:\n").dropFirst().first else { return [path] }
        let names = section.split(separator: "\n").compactMap { line -> String? in
            // "  name    abstract": a name starts the line after exactly two spaces.
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let name = line.split(separator: " ").first,
                  name.allSatisfy({ $0.isLowercase || $0 == "-" }) else { return nil }
            return String(name)
        }
        return try [path] + names.flatMap { try commands(path + [$0]) }
    }

    @Test func everyCommandsHelpShowsExamples() throws {
        let all = try Self.commands()
        #expect(all.count > 30, "\(all)")
        for command in all {
            let help = try GatehouseProcess.run(command + ["--help"])
            #expect(help.status == 0 && help.stdout.contains("Example"), "`gatehouse \(command.joined(separator: " ")) --help` shows no examples")
        }
    }
}
