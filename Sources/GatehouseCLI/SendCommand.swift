import ArgumentParser
import Foundation
import Glibc
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit

/// `gatehouse send FILE… --to ODS [--wait [--timeout 10m]]`: puts files into the outbox the
/// way producers should, for the running gateway to send.
struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Put files into the outbox for a partner; with --wait, wait for its signed receipt.",
        discussion: """
            Each file is copied into spool/outbox/<ODS>/ under a hidden temporary name, synced to \
            disk and renamed in, so the running gateway (`gatehouse run`) never sees half a file. \
            Nothing is copied unless every file can be sent: the partner must be pinned \
            (`gatehouse partners add`) and not this organisation itself, each file must be a regular file whose name may be \
            published (Unicode NFC, no control or invisible characters, no leading dot or .part \
            ending: docs/FORMAT.md §3.7), and no file of the same name may already be waiting. Files waiting together travel in one bundle \
            (two whose names differ only in case, in two). Large \
            files show a progress bar on standard error when it is a terminal.

            With --wait, the command follows the gateway's journal until every file's bundle is \
            acknowledged, and prints the receipt (as `gatehouse receipt show` does). It exits \
            with status 15 when a bundle failed or expired, or when nothing came back within \
            --timeout; the files stay in the gateway's care either way.

            Examples:
              gatehouse send summary.xml --to YOI123
              gatehouse send summary.xml medications.csv --to YOI123 --wait
              gatehouse send --home /var/lib/gatehouse export.pdf --to A81001 --wait --timeout 30m
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(name: .long, help: ArgumentHelp("The partner to send to (its ODS code).", valueName: "ods"),
            transform: ODSCode.fromArgument)
    var to: ODSCode

    @Flag(name: .long, help: "Wait until the partner's signed receipt has been verified, and print it.")
    var wait = false

    @Option(name: .long, help: ArgumentHelp("With --wait, give up after this long (e.g. 90s, 10m, 1h).", valueName: "duration"))
    var timeout: String?

    @Argument(help: ArgumentHelp("The files to send.", valueName: "file"))
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one file to send") }
        if let timeout {
            guard wait else { throw ValidationError("--timeout applies only with --wait") }
            guard let duration = GatehouseConfig.parseDuration(timeout), duration > .zero else {
                throw ValidationError("--timeout \(timeout.debugDescription) is not a duration such as 90s, 10m or 1h")
            }
        }
    }

    func run() throws {
        let home = try homeOptions.initialised()
        let own = try KeyStore(home: home).loadOwnCard()
        // A bundle from this organisation to itself is refused by the receiver as reflected
        // (FORMAT.md §3.10), and the gateway refuses the records at the claim: say so now,
        // before anything is copied.
        guard to != own.org else {
            throw CommandFailure(
                status: .invalidInput, message: "\(to) is this organisation itself; records are sent to partners",
                hint: "name the partner the records are for, e.g. `gatehouse send FILE --to YOI123` (`gatehouse partners list`)")
        }
        _ = try PartnerStore(home: home).requireCard(for: to)
        let spool = SpoolLayout(home: home)
        let outbox = "\(spool.outbox)/\(to.value)"
        let sendable = try files.map { try Self.check($0, outbox: outbox) }
        var seen = Set<[UInt8]>()
        for file in sendable where !seen.insert(Array(file.name.utf8)).inserted {
            throw CommandFailure(status: .invalidInput,
                                 message: "two of the files are named \(ReadableText.shown(file.name)); a bundle holds one file per name",
                                 hint: "rename one of them, or send them one at a time")
        }
        // Claims made before this moment are other, earlier files of the same name.
        let startedAt = Int64(Date().timeIntervalSince1970 * 1000) - 1000
        for folder in [spool.root, spool.outbox, outbox] { try FileOperations.makeDirectory(folder, mode: 0o700) }
        for file in sendable {
            try Self.copy(file)
            print("queued \(file.name) for \(to.value) (\(file.size) bytes)")
        }
        guard wait else {
            return print("The running gateway sends \(sendable.count == 1 ? "it" : "them") now; `gatehouse status` shows progress.")
        }
        let limit = timeout.flatMap(GatehouseConfig.parseDuration) ?? .seconds(600)
        try SendWaiter(home: home, spool: spool, partner: to, files: sendable, since: startedAt, timeout: limit).run()
    }

    /// A file that may be sent, and where it goes.
    struct Sendable {
        let path: String, name: String, target: String, size: UInt64
    }

    /// Opens a file named on the command line: a link is followed, and what it leads to must be
    /// a regular file (a FIFO or device is refused at once, never waited on).
    static func open(_ path: String) throws -> FileSource {
        do { return try FileSource(path: path) } catch {
            // Escaped: a name given by a glob over someone else's folder may hold a bidirectional
            // override or a line break.
            let shown = ReadableText.shown(path)
            switch error.foundType {
            case .directory?:
                throw CommandFailure(status: .invalidInput, message: "cannot send \(shown): it is a folder; only files are sent",
                                     hint: "name the files inside it, e.g. `gatehouse send \(shown)/* --to ODS`")
            case .some(let type):
                throw CommandFailure(status: .invalidInput,
                                     message: "cannot send \(shown): it is \(type.phrase), not a regular file",
                                     hint: ErrorReport.notRegularHint)
            case nil:
                throw CommandFailure.unreadableInput("cannot send \(shown): \(String(cString: strerror(error.code)))")
            }
        }
    }

    /// Checks one file named on the command line; every refusal says why. (The file is closed
    /// again: a thousand files named at once need not hold a thousand descriptors.)
    static func check(_ path: String, outbox: String) throws -> Sendable {
        let name = DurableFile.split(path).name
        let size = try open(path).size
        let unsafe = { (why: String) in
            CommandFailure(status: .invalidInput, message: "cannot send \(ReadableText.shown(path)): \(why)",
                           hint: "copy it under a plain name (letters, digits, spaces, dots, dashes) and send the copy")
        }
        do { try FileNameRule.validate(name) } catch { throw unsafe("its name cannot be published: \(error.detail)") }
        // The gateway ignores these names in the outbox: they mark transfers in progress.
        guard !OutboxScanner.isIgnored(name) else { throw unsafe("names starting with a dot or ending in .part are never sent") }
        let target = "\(outbox)/\(name)"
        var existing = stat()
        guard lstat(target, &existing) != 0 else { throw alreadyWaiting(name, outbox: outbox) }
        return Sendable(path: path, name: name, target: target, size: size)
    }

    static func alreadyWaiting(_ name: String, outbox: String) -> CommandFailure {
        CommandFailure(status: .invalidInput,
                       message: "a file named \(ReadableText.shown(name)) is already waiting in \(outbox)",
                       hint: "wait until the gateway has claimed it (`gatehouse status`), or send this one under another name")
    }

    /// Copies durably under a hidden temporary name in the outbox folder (ignored by the
    /// gateway), fsyncs, renames in without replacing anything, and fsyncs the folder.
    static func copy(_ file: Sendable) throws {
        let source = try open(file.path)
        let out = try DurableFile(path: file.target, mode: 0o600)
        var bar = ProgressBar(label: file.name, total: source.size)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate(); bar.finish() }
        var copied: UInt64 = 0
        do {
            while true {
                let n = try source.read(into: buffer)
                if n == 0 { break }
                try out.writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                copied += UInt64(n)
                bar.update(copied)
            }
            try out.commit()
        } catch let error as SystemError where error.code == EEXIST {
            out.discard()
            throw alreadyWaiting(file.name, outbox: DurableFile.split(file.target).folder)
        } catch {
            out.discard()
            throw error
        }
    }
}
