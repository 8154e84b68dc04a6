import GatehouseDaemon
import GatehouseFormat
import GatehouseKit

/// The files the gateway refused at the outbox, as `gatehouse status` shows them: a refused file
/// never became a bundle, so without this list it would be seen by no one.
struct RefusedFilesReport {
    let files: [RefusedFile]

    /// The refused files of `spool`; a `spool/failed/` this user may not read is reported as a
    /// permission problem, naming the folder.
    init(spool: SpoolLayout, home: GatehouseHome) throws(KitError) {
        files = try HomeAccess.readable(spool.failed, in: home) ? RefusedFile.list(in: spool.failed) : []
    }

    /// `status --refused --json`: an array, newest first (the README shows the shape).
    var json: JSONText {
        .array(files.map { file in
            .fields([
                "folder": .string(file.folder), "refused_at": .string(JSONOutput.time(file.refusedAt)),
                "files": .array(file.names.map(JSONText.string)), "reason": .string(file.reason),
            ])
        })
    }

    /// The text form: a heading naming the folder, then at most `limit` (0: all) rows, newest first.
    func printText(spool: SpoolLayout, limit: Int) {
        guard !files.isEmpty else { return }
        let count = files.count == 1 ? "1 file or pack" : "\(files.count) files or packs"
        print("\(count) refused at the outbox, never sent (in \(spool.failed)/):")
        let shown = limit == 0 ? files : Array(files.prefix(limit))
        if shown.count < files.count { print("Newest \(shown.count) (`gatehouse status --refused` lists all):") }
        var table = TextTable(header: ["REFUSED AT", "FOLDER", "FILES", "REASON"])
        for file in shown {
            table.rows.append([JSONOutput.time(file.refusedAt), file.folder,
                               file.names.map(Self.cell).joined(separator: ", "), Self.cell(file.reason)])
        }
        table.lines.forEach { print($0) }
    }

    /// `text` as it is when a person can read it safely, else quoted with the characters that
    /// could hide or reorder the line escaped (a name dropped by anyone who can write the outbox).
    static func cell(_ text: String) -> String {
        text.unicodeScalars.allSatisfy { ReadableText.refusal(of: $0) == nil } ? text : ReadableText.shown(text)
    }
}
