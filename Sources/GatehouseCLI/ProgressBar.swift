import Foundation
import Glibc

/// A copy's progress on standard error: `name [#######.......]  45%  120.0 / 266.0 MiB`.
///
/// Drawn only for large files and only when standard error is a terminal (or
/// `GATEHOUSE_PROGRESS=always`), so scripts and logs never see it; redrawn at most ten times a
/// second, and finished with a newline.
struct ProgressBar {
    /// Files smaller than this copy too fast for a bar to help.
    static let threshold: UInt64 = 8 << 20
    private static let width = 30

    private let label: String
    private let total: UInt64
    private let enabled: Bool
    private var lastDrawn = 0.0

    init(label: String, total: UInt64, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.label = label
        self.total = total
        let forced = environment["GATEHOUSE_PROGRESS"]
        enabled = forced != "never" && total >= Self.threshold && (forced == "always" || isatty(STDERR_FILENO) == 1)
    }

    /// Shows that `done` bytes of the total are copied.
    mutating func update(_ done: UInt64) {
        guard enabled else { return }
        let now = Date().timeIntervalSinceReferenceDate
        guard done >= total || now - lastDrawn >= 0.1 else { return }
        lastDrawn = now
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let filled = Int(fraction * Double(Self.width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: Self.width - filled)
        let mib = { (bytes: UInt64) in String(format: "%.1f", Double(bytes) / 1_048_576) }
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(String(format: "%3d", Int(fraction * 100)))%  \(mib(done)) / \(mib(total)) MiB".utf8))
    }

    /// Ends the bar's line.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
