import Foundation
import Glibc
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// `gatehouse send --wait`: follows the gateway's journal, read-only, until every file sent is
/// in an acknowledged bundle (or its bundle failed or expired, or time runs out), then prints
/// the verified receipts.
///
/// A file is found in the journal by the outbox path it was claimed from (records waiting
/// together travel in one bundle, so several files may share one); a file that left the outbox
/// without a claim was refused by the gateway, with a reason in `spool/failed/`.
struct SendWaiter {
    let home: GatehouseHome
    let spool: SpoolLayout
    let partner: ODSCode
    let files: [SendCommand.Sendable]
    /// Claims older than this (ms since the epoch) are of earlier files of the same name.
    let since: Int64
    let timeout: Duration

    /// How long without any claim before saying that the gateway may not be running.
    static let quietWarning: Double = 10
    static let pollInterval: useconds_t = 200_000

    func run() throws {
        let started = Date()
        let deadline = started.addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        var bundleOf: [String: String] = [:]
        var refused: [String: String] = [:]
        var finished: [String: OutgoingRecord] = [:]
        var warned = false
        var journal = try Journal.openForReading(path: spool.journal)
        if journal == nil {
            note("no gateway has ever run in \(home.path) (it has no journal); start `gatehouse run --home \(home.path)`. Waiting up to \(GatehouseConfig.describe(timeout)).")
            warned = true
        }
        while true {
            if journal == nil { journal = try Journal.openForReading(path: spool.journal) }
            if let journal {
                for file in files where bundleOf[file.name] == nil && refused[file.name] == nil {
                    if let claim = try journal.claim(sourcePath: file.target, since: since) {
                        bundleOf[file.name] = claim.bundleID
                        note("\(file.name) is in bundle \(claim.bundleID)")
                    } else if !exists(file.target), try journal.claim(sourcePath: file.target, since: since) == nil {
                        // Gone without a claim (claims are journalled before the file moves): refused.
                        refused[file.name] = refusal(of: file.name)
                    }
                }
                for id in Set(bundleOf.values) where finished[id] == nil {
                    if let record = try journal.outgoing(id), record.state.isFinal { finished[id] = record }
                }
            }
            let open = Set(bundleOf.values).subtracting(finished.keys)
            if bundleOf.count + refused.count == files.count && open.isEmpty { break }
            if Date() >= deadline { break }
            if !warned && bundleOf.isEmpty && Date().timeIntervalSince(started) >= Self.quietWarning {
                note("no gateway has claimed anything yet; is `gatehouse run --home \(home.path)` running? Waiting up to \(GatehouseConfig.describe(timeout)).")
                warned = true
            }
            usleep(Self.pollInterval)
        }
        try report(bundleOf: bundleOf, refused: refused, finished: finished, journal: journal)
    }

    private func report(bundleOf: [String: String], refused: [String: String], finished: [String: OutgoingRecord], journal: Journal?) throws {
        var problems: [String] = []
        for file in files {
            if let reason = refused[file.name] { problems.append("the gateway refused \(file.name): \(reason)") }
            if bundleOf[file.name] == nil && refused[file.name] == nil {
                problems.append("no running gateway claimed \(file.name) within \(GatehouseConfig.describe(timeout)); it is still waiting in \(file.target) and leaves when `gatehouse run --home \(home.path)` runs")
            }
        }
        var shown = Set<String>()
        for file in files {
            guard let id = bundleOf[file.name], shown.insert(id).inserted else { continue }
            guard let record = finished[id] else {
                let current = try journal?.outgoing(id)
                problems.append("bundle \(id) is still \(current?.state.rawValue ?? "queued") after \(GatehouseConfig.describe(timeout))\(current?.lastError.map { " (last error: \($0))" } ?? ""); the gateway keeps trying until it expires")
                continue
            }
            switch record.state {
            case .acknowledged:
                try ReceiptReport(record, journal: journal!, home: home).printText()
            case .expired:
                problems.append("bundle \(id) expired before \(partner) acknowledged it: \(record.lastError ?? "no receipt in time"); the originals and reason.txt are in \(spool.failed)/\(id)/")
            default:
                if record.receipt != nil, let receipt = try? ReceiptReport(record, journal: journal!, home: home) { receipt.printText() }
                problems.append("bundle \(id) failed: \(record.lastError ?? "no reason recorded"); the originals are in \(spool.failed)/\(id)/")
            }
        }
        guard problems.isEmpty else {
            throw CommandFailure(status: .notAcknowledged, message: problems.joined(separator: "\ngatehouse: error: "),
                                 hint: "`gatehouse status` shows every bundle; `gatehouse status ID` one bundle's history")
        }
    }

    /// The reason the gateway gave for refusing `name`: the newest `spool/failed/*/reason.txt`
    /// beside a file of that name.
    private func refusal(of name: String) -> String {
        let folders = (FileOperations.listFolder(spool.failed) ?? []).sorted(by: >)
        for folder in folders where exists("\(spool.failed)/\(folder)/\(name)") {
            if let text = try? String(contentsOfFile: "\(spool.failed)/\(folder)/reason.txt", encoding: .utf8) {
                return text.trimmingCharacters(in: .whitespacesAndNewlines) + " (see \(spool.failed)/\(folder)/)"
            }
        }
        return "it left the outbox without being claimed"
    }

    private func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data("gatehouse: \(text)\n".utf8))
    }
}
