import ArgumentParser
import Foundation

/// ArgumentParser's errors in Gatehouse's words: a usage error reads `gatehouse: error: …` with
/// the command's usage as hints and exits 64, like every other error; help, `--version` and
/// clean exits print what ArgumentParser prints and exit 0; an `ExitCode` exits quietly.
enum UsageReport {
    /// Reports `error` from parsing or running `command` (nil: not known) and exits.
    static func exit(_ error: any Error, command: (any ParsableCommand.Type)?) -> Never {
        let code = GatehouseCommand.exitCode(for: error)
        if error is ExitCode { Foundation.exit(code.rawValue) }
        // Help and --version: ArgumentParser prints them on standard output.
        if code == .success { GatehouseCommand.exit(withError: error) }
        var report = ErrorReport(status: .usage, message: sentence(GatehouseCommand.message(for: error)), hint: nil)
        report.hints = hints(for: command ?? GatehouseCommand.self)
        report.print()
        Foundation.exit(code.rawValue)
    }

    /// The usage of `command` and where its help is, as hint lines.
    static func hints(for command: any ParsableCommand.Type) -> [String] {
        let usage = GatehouseCommand.usageString(for: command).split(whereSeparator: \.isWhitespace)
            .joined(separator: " ")
        let help = "`\(path(to: command).joined(separator: " ")) --help`"
        let isRoot = ObjectIdentifier(command) == ObjectIdentifier(GatehouseCommand.self)
        return ["usage: \(usage)", isRoot ? "\(help) lists the commands" : "\(help) describes every option"]
    }

    /// The subcommand the leading words of `arguments` name (`keys rotate …`), else the root:
    /// a parse error says what was wrong, not in which command.
    static func command(named arguments: [String]) -> any ParsableCommand.Type {
        var current: any ParsableCommand.Type = GatehouseCommand.self
        for word in arguments {
            if word.hasPrefix("-") { continue }
            guard let next = current.configuration.subcommands.first(where: {
                $0._commandName == word || $0.configuration.aliases.contains(word)
            }) else { break }
            current = next
        }
        return current
    }

    /// The command names from the root down to `command` (`gatehouse keys rotate`).
    static func path(to command: any ParsableCommand.Type) -> [String] {
        func search(_ node: any ParsableCommand.Type, _ names: [String]) -> [String]? {
            let here = names + [node._commandName]
            if ObjectIdentifier(node) == ObjectIdentifier(command) { return here }
            for child in node.configuration.subcommands { if let found = search(child, here) { return found } }
            return nil
        }
        return search(GatehouseCommand.self, []) ?? ["gatehouse"]
    }

    /// ArgumentParser's message as the rest of Gatehouse words it: a lower-case start (unless
    /// the first word is an abbreviation) and no full stop.
    static func sentence(_ message: String) -> String {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasSuffix(".") { text.removeLast() }
        var rest = text.unicodeScalars
        guard rest.count >= 2, CharacterSet.uppercaseLetters.contains(rest[rest.startIndex]),
              !CharacterSet.uppercaseLetters.contains(rest[rest.index(after: rest.startIndex)]) else { return text }
        let first = rest.removeFirst()
        return first.properties.lowercaseMapping + String(rest)
    }
}
