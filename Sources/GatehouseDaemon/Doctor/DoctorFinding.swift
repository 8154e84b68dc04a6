/// One result of `gatehouse doctor`: what was checked, how it stands, and what to do.
public struct DoctorFinding: Sendable, Codable, Equatable {
    /// How a check stands.
    public enum Level: String, Sendable, Codable, Comparable {
        /// Nothing to do.
        case ok = "OK"
        /// Works now, but will not for long, or could not be checked.
        case warning = "WARNING"
        /// Gatehouse cannot work properly until this is fixed.
        case problem = "PROBLEM"

        private var rank: Int { self == .ok ? 0 : self == .warning ? 1 : 2 }
        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
    }

    /// The check, e.g. `key files`, `partner YOI123`, `disk space`.
    public let check: String
    /// OK, WARNING or PROBLEM.
    public let level: Level
    /// What was found, in plain words.
    public let message: String
    /// What to do about it (nil when OK).
    public let fix: String?

    /// A finding.
    public init(_ check: String, _ level: Level, _ message: String, fix: String? = nil) {
        self.check = check
        self.level = level
        self.message = message
        self.fix = fix
    }

    /// The line `gatehouse doctor` prints: `LEVEL    check: message (fix)`.
    public var line: String {
        let label = level.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
        return "\(label) \(check): \(message)" + (fix.map { " — \($0)" } ?? "")
    }
}
