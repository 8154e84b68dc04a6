import Foundation
import GatehouseFormat
public import Logging
import Synchronization

/// One line per event on standard error, as text or JSON, with Gatehouse's metadata
/// (`gatehouse.bundle`, `gatehouse.partner`, `gatehouse.state`). Never contains file contents.
public struct LineLogHandler: LogHandler {
    /// Output format.
    public enum Format: String, Sendable, CaseIterable {
        /// `2026-11-25T09:30:00Z info claimed bundle=… partner=YOI123 state=queued`
        case text
        /// `{"time":"…","level":"info","message":"claimed","bundle":"…",…}`
        case json
    }

    private static let output = Mutex(())
    private let label: String
    private let format: Format
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    /// A handler writing `format`.
    public init(label: String, format: Format) {
        self.label = label
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let time = RFC3339.format(milliseconds: SystemWallClock().now()) ?? "-"
        let line: String
        switch format {
        case .text:
            let fields = all.sorted { $0.key < $1.key }
                .map { "\($0.key.replacingOccurrences(of: "gatehouse.", with: ""))=\($0.value)" }
            line = ([time, event.level.rawValue, event.message.description] + fields).joined(separator: " ")
        case .json:
            var object: [String: String] = ["time": time, "level": event.level.rawValue, "message": event.message.description, "logger": label]
            for (key, value) in all { object[key.replacingOccurrences(of: "gatehouse.", with: "")] = "\(value)" }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        }
        Self.output.withLock { _ in FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
