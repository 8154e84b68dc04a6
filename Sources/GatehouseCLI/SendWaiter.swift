import Foundation
import Glibc
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// `gatehouse send --wait`: follows the gateway's journal, read-only, until the pack sent is in
/// an acknowledged bundle (or its bundle failed or expired, or time runs out), then prints the
/// verified receipt.
///
/// The pack is found in the journal by the outbox path its files were claimed from; a pack that
/// left the outbox without a claim was refused by the gateway, with a reason in `spool/failed/`.
struct SendWaiter {
    let home: GatehouseHome
    let spool: SpoolLayout
    let partner: ODSCode
    /// The pack folder's path in the outbox (unique: its name holds the time and random digits).
    let pack: String
    let files: [SendCommand.Sendable]
    let timeout: Duration

    /// How long without any claim before saying that the gateway may not be running.
    static let quietWarning: Double = 10
    static let pollInterval: useconds_t = 200_000

    func run() throws {
        let started = Date()
        let deadline = started.addingTimeInterval(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        let firstFile = "\(pack)/\(files[0].name)"
        var bundle: BundleID?
        var refused: String?
        var finished: OutgoingRecord?
        var warned = false
        var journal = try JournalOpener.openForReading(home: home)
        if journal == nil {
            if let pid = HomeLock.runningDaemon(home) {
                // `run` started a moment ago and has not created its journal yet.
                note("the gateway (PID \(pid)) is starting; waiting up to \(GatehouseConfig.describe(timeout)).")
            } else {
                note("no gateway has ever run in \(home.path) (it has no journal); start `gatehouse run --home \(home.path)`. Waiting up to \(GatehouseConfig.describe(timeout)).")
            }
            warned = true
        }
        while true {
            if journal == nil { journal = try JournalOpener.openForReading(home: home) }
            if let journal, bundle == nil, refused == nil {
                if let claim = try journal.claim(sourcePath: firstFile, since: 0) {
                    bundle = claim.bundleID
                    note("the pack is bundle \(claim.bundleID)")
                } else if !exists(pack), try journal.claim(sourcePath: firstFile, since: 0) == nil {
                    // Gone without a claim (claims are journalled before the pack moves): refused.
                    refused = refusal()
                }
            }
            // Held is not final, but the sender is told at once: someone has to call the partner.
            if let journal, let bundle, let record = try journal.outgoing(bundle),
               record.state.isFinal || record.state == .held {
                finished = record
            }
            if refused != nil || finished != nil || Date() >= deadline { break }
            if !warned && bundle == nil && Date().timeIntervalSince(started) >= Self.quietWarning {
                note("no gateway has claimed the pack yet; is `gatehouse run --home \(home.path)` running? "
                     + "Waiting up to \(GatehouseConfig.describe(timeout)).")
                warned = true
            }
            usleep(Self.pollInterval)
        }
        try report(bundle: bundle, refused: refused, finished: finished, journal: journal)
    }

    private func report(bundle: BundleID?, refused: String?, finished: OutgoingRecord?, journal: (any Journal)?) throws {
        let problem: String
        if let refused {
            problem = "the gateway refused the pack: \(refused)"
        } else if let bundle {
            switch finished?.state {
            case .acknowledged?:
                return try ReceiptReport(finished!, journal: journal!, home: home).printText()
            case .expired?:
                problem = "bundle \(bundle) expired before \(partner) acknowledged it: "
                    + "\(finished?.lastError ?? "no receipt in time"); "
                    + "the pack and reason.txt are in \(spool.failed)/\(bundle)/"
            case .held?:
                let held = finished?.lastError ?? "held by \(partner)"
                problem = "bundle \(bundle) is \(held); it is not final: \(partner)'s "
                    + "gateway opens it as soon as they add your card (`gatehouse identity export` gives it), and this "
                    + "gateway keeps the pack until the receipt comes or it expires"
            case nil:
                let current = try journal?.outgoing(bundle)
                let last = current?.lastError.map { " (last error: \($0))" } ?? ""
                problem = "bundle \(bundle) is still \(current?.state.rawValue ?? "queued") after "
                    + "\(GatehouseConfig.describe(timeout))\(last); the gateway keeps trying until it expires"
            default:
                if let finished, finished.receipt != nil, let journal,
                   let receipt = try? ReceiptReport(finished, journal: journal, home: home) {
                    receipt.printText()
                }
                problem = "bundle \(bundle) failed: \(finished?.lastError ?? "no reason recorded"); "
                    + "the pack is in \(spool.failed)/\(bundle)/"
            }
        } else {
            problem = "no running gateway claimed the pack within \(GatehouseConfig.describe(timeout)); it is still "
                + "waiting in \(pack) and leaves when `gatehouse run --home \(home.path)` runs"
        }
        throw CommandFailure(status: .notAcknowledged, message: problem,
                             hint: "`gatehouse status` shows every bundle; `gatehouse status ID` one bundle's history")
    }

    /// The reason the gateway gave for refusing the pack: the newest `spool/failed/*/reason.txt`
    /// beside a folder of the pack's name.
    private func refusal() -> String {
        let name = DurableFile.split(pack).name
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
