import ArgumentParser
import Foundation
import Glibc
import GatehouseCrypto
import GatehouseDaemon
import GatehouseFormat
import GatehouseKit

/// `gatehouse send FILE… --to ODS [--subject TEXT] [--nhs-number N]… [--workflow NAME] [--wait]`:
/// drops the files into the outbox as one pack, the way a GP system should, for the running
/// gateway to send in one bundle.
struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send files to a partner as one pack (one bundle, one receipt); with --wait, wait for its receipt.",
        discussion: """
            The files travel together as one pack: one bundle, one receipt, published at the \
            other end as one folder. They are copied into a hidden folder in \
            spool/outbox/<ODS>/, synced to disk, and the folder is renamed in whole, so the \
            running gateway (`gatehouse run`) takes all of them or none; a pack is never split \
            and never joined with other records. The subject, the NHS numbers and the workflow \
            go into the pack's .gatehouse.toml and travel in the signed manifest, inside the \
            encryption; the receiving gateway can publish each workflow in its own folder.

            Nothing is copied unless every file can be sent: the partner must be pinned \
            (`gatehouse partners add`) or listed in the joined directory (`gatehouse network \
            join`), and not this organisation itself, each file must be a regular file whose name may be \
            published (Unicode NFC, no control or invisible characters, no leading dot or .part \
            ending: docs/FORMAT.md §3.7), names must differ (ignoring case), NHS numbers must \
            pass the modulus-11 check, and the workflow must be one of gatehouse.toml's \
            [workflows] names. The copies belong to the gateway's user (the owner of the home): \
            run as root, send gives them to that user; run as another user, it refuses, since the \
            gateway could not read them. Large files show a progress bar on standard error when \
            it is a terminal.

            With --wait, the command follows the gateway's journal until the pack's bundle is \
            acknowledged, and prints the receipt (as `gatehouse receipt show` does). It exits \
            with status 15 when the bundle failed or expired, or when nothing came back within \
            --timeout; the pack stays in the gateway's care either way.

            Examples:
              gatehouse send summary.xml --to YOI123
              gatehouse send summary.xml medications.csv scan.pdf --to YOI123 --subject "Reception: Ada Testperson" \\
                  --nhs-number "999 000 0018" --workflow reception-summary --wait
              gatehouse send --home /var/lib/gatehouse export.pdf --to A81001 --wait --timeout 30m
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(name: .long, help: ArgumentHelp("The partner to send to (its ODS code).", valueName: "ods"),
            transform: ODSCode.fromArgument)
    var to: ODSCode

    @OptionGroup var pack: PackContextOptions

    @Flag(name: .long, help: "Wait until the partner's signed receipt has been verified, and print it.")
    var wait = false

    @Option(name: .long, help: ArgumentHelp("With --wait, give up after this long (e.g. 90s, 10m, 1h).", valueName: "duration"))
    var timeout: String?

    @Argument(help: ArgumentHelp("The files to send, together.", valueName: "file"))
    var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one file to send") }
        guard files.count <= PayloadLayout.maxFiles else {
            throw ValidationError("a pack holds at most \(PayloadLayout.maxFiles) files, not \(files.count)")
        }
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
        // The rule the web Send page and the intake API share: a pinned or directory partner,
        // never this organisation itself (its receiver refuses a reflected bundle, FORMAT.md
        // §3.10, and the gateway refuses the records at the claim): say so now, before anything
        // is copied.
        do { try PartnerStore(home: home).requireRecipient(to, own: own.org) } catch {
            let failure: any Error = error.category != .invalidInput ? error : CommandFailure(
                status: .invalidInput, message: error.message,
                hint: "name the partner the records are for, e.g. `gatehouse send FILE --to YOI123` (`gatehouse partners list`)")
            throw failure
        }
        let context: PackContext
        do { context = try pack.context(config: try GatehouseConfig.load(home: home)) } catch let error as KitError {
            throw CommandFailure(status: .invalidInput, message: error.message,
                                 hint: "name one of gatehouse.toml's [workflows] names "
                                    + "(`gatehouse config check` lists them)")
        }
        // Before anything is copied: the copies must be the gateway's, or they are never sent.
        let ownership = try PackOwnership(home: home)
        let spool = SpoolLayout(home: home)
        let outbox = "\(spool.outbox)/\(to.value)"
        let sendable = try files.map(Self.check)
        do { try FileNameRule.checkDistinct(sendable.map(\.name)) } catch {
            throw CommandFailure(status: .invalidInput, message: "cannot send these files together: \(error.detail)",
                                 hint: "rename one of them, or send them in separate packs")
        }
        try ownership.makeFolders([spool.root, spool.outbox, outbox])
        let name = try Self.drop(sendable, context: context, into: outbox, access: ownership.access)
        let count = sendable.count == 1 ? "1 file" : "\(sendable.count) files"
        print("queued \(count) for \(to.value) as one pack, \(name) (\(sendable.reduce(0) { $0 + $1.size }) bytes)")
        guard wait else { return print("The running gateway sends it now; `gatehouse status` shows progress.") }
        let limit = timeout.flatMap(GatehouseConfig.parseDuration) ?? .seconds(600)
        try SendWaiter(home: home, spool: spool, partner: to, pack: "\(outbox)/\(name)", files: sendable,
                       timeout: limit).run()
    }

    /// A file that may be sent.
    struct Sendable {
        let path: String, name: String, size: UInt64
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
    static func check(_ path: String) throws -> Sendable {
        let name = DurableFile.split(path).name
        let size = try open(path).size
        let unsafe = { (why: String) in
            CommandFailure(status: .invalidInput, message: "cannot send \(ReadableText.shown(path)): \(why)",
                           hint: "copy it under a plain name (letters, digits, spaces, dots, dashes) and send the copy")
        }
        if let why = PackDrop.refusal(forName: name) { throw unsafe(why) }
        return Sendable(path: path, name: name, size: size)
    }

    /// Builds the pack through ``PackDrop`` (a hidden folder, renamed in whole once every file is
    /// synced). Returns the pack's name. On failure nothing is left behind. `access` gives every
    /// folder and file to the gateway's user.
    static func drop(_ files: [Sendable], context: PackContext, into outbox: String,
                     access: PublishAccess) throws -> String {
        let pack = try PackDrop(outbox: outbox, access: access)
        do {
            for file in files { try copy(file, to: try pack.file(named: file.name)) }
            return try pack.commit(context: context)
        } catch {
            pack.discard()
            throw error
        }
    }

    /// Copies one file durably into the pack being built (the folder is synced once, after).
    static func copy(_ file: Sendable, to out: DurableFile) throws {
        let source = try open(file.path)
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
            try out.commit(sync: .file)
        } catch {
            out.discard()
            throw error
        }
    }
}
