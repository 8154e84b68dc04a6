import Foundation
import Glibc
import GatehouseDaemon
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseTesting
import Testing

/// Building pack folders in a practice's outbox, and what a claim makes of them.
extension TwoGateways {
    /// Creates the pack folder `name` in the practice's outbox for YOI123 with `files` and, when
    /// given, a `.gatehouse.toml`; returns its path.
    func pack(_ name: String, _ files: [(String, [UInt8])], sidecar: String? = nil) throws -> String {
        let path = practiceHome.path + "/spool/outbox/YOI123/\(name)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (file, bytes) in files { try writeClosed(bytes, to: "\(path)/\(file)") }
        if let sidecar { try writeClosed(Array(sidecar.utf8), to: "\(path)/.gatehouse.toml") }
        return path
    }

    /// Claims the pack folder at `path`.
    func claimPack(_ path: String) async -> ClaimOutcome {
        let name = DurableFile.split(path).name
        return await practice.claim([OutboxFile(partner: "YOI123", path: path, name: name, size: 0, isPack: true)])[0]
    }

    /// The reason file of the only refusal in the practice's `spool/failed/`, and what is beside it.
    func refusal() -> (reason: String, kept: [String]) {
        let failed = practiceHome.path + "/spool/failed"
        guard let folder = list(failed).first else { return ("", []) }
        let reason = String(decoding: read("\(failed)/\(folder)/reason.txt") ?? [], as: UTF8.self)
        return (reason, list("\(failed)/\(folder)").filter { $0 != "reason.txt" })
    }
}

/// A pack is judged whole when it is claimed: every file gets the checks a file dropped alone
/// gets, one bad file refuses the pack, one file still being written holds it back.
@Suite("Packs: claiming a folder as one unit")
struct PackClaimTests {
    let record = Array("<record nhs=\"9990000018\">Ada Testperson</record>".utf8)

    func signingKey(_ g: TwoGateways) -> String {
        let keys = g.practiceHome.path + "/keys"
        return keys + "/" + g.list(keys).first { $0.hasPrefix("signing-") }!
    }

    @Test func aPackIsOneBundleWithItsContextJournalled() async throws {
        let g = try TwoGateways()
        let files = [("summary.xml", record), ("meds.csv", Array("drug,dose\n".utf8)), ("scan.pdf", [1, 2, 3])]
        let path = try g.pack("reception", files, sidecar: "subject = \"Reception: Ada Testperson\"\nworkflow = \"reception-summary\"\n"
                                + "nhs_numbers = [\"999 000 0018\"]  # the patient\n")
        guard case .claimed(let id) = await g.claimPack(path) else { Issue.record("not claimed"); return }
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        #expect(try journal.files(of: id).map(\.name) == ["meds.csv", "scan.pdf", "summary.xml"])
        let pack = try #require(try journal.pack(of: id, direction: "out"))
        #expect(pack.pack == "reception")
        #expect(pack.context == PackContext(subject: "Reception: Ada Testperson",
                                            workflow: try Workflow("reception-summary"), nhsNumbers: ["9990000018"]))
        // The folder moved whole, its description with it.
        #expect(g.list(g.practiceHome.path + "/spool/outbox/YOI123").isEmpty)
        #expect(g.list(g.practiceHome.path + "/spool/work/out/\(id)")
                == [".gatehouse.toml", "meds.csv", "scan.pdf", "summary.xml"])
    }

    @Test func aPackIsNeverJoinedWithRecordsDroppedAlone() async throws {
        let g = try TwoGateways()
        let folder = g.practiceHome.path + "/spool/outbox/YOI123"
        let path = try g.pack("export", [("a.xml", record), ("b.xml", record)])
        for name in ["loose-1.xml", "loose-2.xml"] { try writeClosed(record, to: "\(folder)/\(name)") }
        let outcomes = await g.practice.claim([
            OutboxFile(partner: "YOI123", path: "\(folder)/loose-1.xml", name: "loose-1.xml", size: 0),
            OutboxFile(partner: "YOI123", path: path, name: "export", size: 0, isPack: true),
            OutboxFile(partner: "YOI123", path: "\(folder)/loose-2.xml", name: "loose-2.xml", size: 0),
        ])
        let ids = outcomes.compactMap { if case .claimed(let id) = $0 { id } else { nil } }
        #expect(ids.count == 3 && ids[0] == ids[2] && ids[0] != ids[1], "\(outcomes)")
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        #expect(try journal.files(of: ids[1]).map(\.name) == ["a.xml", "b.xml"])
        #expect(try journal.files(of: ids[0]).map(\.name) == ["loose-1.xml", "loose-2.xml"])
        #expect(try journal.pack(of: ids[0], direction: "out") == nil)
    }

    /// Packs an insider might drop, and the words the refusal must contain.
    static let refusedPacks: [(what: String, reason: String)] = [
        ("symbolic link", "a symbolic link, not a regular file"),
        ("FIFO", "a FIFO, not a regular file"),
        ("hard link", "a hard link"),
        ("folder", "a pack holds files only"),
        ("empty", "holds no files"),
        ("case twins", "differ only in case"),
        ("bad name", "control character"),
    ]

    @Test(arguments: refusedPacks)
    func aPackWithOneBadEntryIsRefusedWhole(what: String, reason: String) async throws {
        let g = try TwoGateways()
        let secret = g.folder.appending("other-patient.xml")
        try writeClosed(Array("<record nhs=\"9990000026\"/>".utf8), to: secret)
        let path = try g.pack("export", what == "empty" ? [] : [("summary.xml", record)])
        var unblocker: FIFOUnblocker?
        switch what {
        case "symbolic link": #expect(symlink(signingKey(g), "\(path)/key.pem") == 0)
        case "FIFO":
            #expect(mkfifo("\(path)/pipe", 0o600) == 0)
            unblocker = FIFOUnblocker(path: "\(path)/pipe")
        case "hard link": #expect(link(secret, "\(path)/innocent.xml") == 0)
        case "folder": #expect(mkdir("\(path)/scans", 0o700) == 0)
        case "case twins": try writeClosed(record, to: "\(path)/SUMMARY.XML")
        case "bad name": try writeClosed(record, to: "\(path)/line\u{1}break.xml")
        default: break
        }
        let outcome = await g.claimPack(path)
        unblocker?.stop()
        guard case .refused = outcome else { Issue.record("\(what): \(outcome)"); return }
        #expect(unblocker?.releasedReaders ?? 0 == 0, "the FIFO was opened for reading")
        let refusal = g.refusal()
        #expect(refusal.reason.contains("not sent: \"export\" for YOI123") && refusal.reason.contains(reason),
                "\(refusal.reason)")
        // The pack went whole, untouched, ready to be fixed and dropped again; nothing journalled.
        #expect(refusal.kept == ["export"])
        #expect(g.list(g.practiceHome.path + "/spool/outbox/YOI123").isEmpty)
        #expect(try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").outgoing(in: [.queued]).isEmpty)
        #expect(g.read(secret) == Array("<record nhs=\"9990000026\"/>".utf8))
    }

    static let badSidecars: [(text: String, reason: String)] = [
        ("nhs_numbers = [\"999 000 0019\"]\n",
         ".gatehouse.toml:1: key 'nhs_numbers': \"9990000019\" is not a valid NHS number: "
            + "its check digit (the last) should be 8, not 9"),
        ("# note\nworkflow = \"transfer\"\n",
         ".gatehouse.toml:2: key 'workflow': workflow transfer is not one this gateway sends"),
        ("workflow = \"Reception\"\n", "may hold only lower-case letters"),
        ("subjet = \"typo\"\n",
         ".gatehouse.toml:1: key 'subjet': unknown key (a pack's .gatehouse.toml may hold subject, workflow, nhs_numbers)"),
        ("subject = \"a\"\nsubject = \"b\"\n", "key 'subject' is set twice"),
        ("subject = \"unterminated\n", "no closing quote"),
        ("subject = \"Ada\u{202E}Testperson\"\n", "key 'subject': the subject contains U+202E"),
        ("[pack]\nsubject = \"x\"\n", "has no tables"),
        ("nhs_numbers = \"9990000018\"\n", "expected a one-line list"),
    ]

    @Test(arguments: badSidecars)
    func aPackWithABadDescriptionIsRefusedWithTheLineAndKey(text: String, reason: String) async throws {
        let g = try TwoGateways()
        let path = try g.pack("export", [("summary.xml", record)], sidecar: text)
        guard case .refused = await g.claimPack(path) else {
            Issue.record("claimed with \(text.debugDescription)")
            return
        }
        let refusal = g.refusal()
        #expect(refusal.reason.contains(reason), "\(refusal.reason)")
        #expect(refusal.kept == ["export"])
    }

    @Test(.enabled(if: getuid() != 0, "root may rename any folder"))
    func aFolderTheGatewayCannotMoveIsRefusedBeforeAnythingIsJournalled() async throws {
        let g = try TwoGateways()
        let path = try g.pack("export", [("summary.xml", record)])
        #expect(chmod(path, 0o555) == 0)
        defer { chmod(path, 0o755) }
        guard case .refused(let why) = await g.claimPack(path) else { Issue.record("claimed"); return }
        #expect(why.contains("not writable by the gateway's user"), "\(why)")
        #expect(try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite").outgoing(in: [.queued]).isEmpty)
    }

    @Test func aDescriptionThatIsALinkIsNeverRead() async throws {
        let g = try TwoGateways()
        let path = try g.pack("export", [("summary.xml", record)])
        #expect(symlink(signingKey(g), "\(path)/.gatehouse.toml") == 0)
        guard case .refused = await g.claimPack(path) else { Issue.record("claimed"); return }
        #expect(g.refusal().reason.contains("its .gatehouse.toml is a symbolic link"), "\(g.refusal().reason)")
    }

    @Test func aPackWithAFileStillBeingWrittenWaits() async throws {
        let g = try TwoGateways()
        let path = try g.pack("export", [("summary.xml", record)])
        // A second file, its writer paused mid-record.
        let writer = open("\(path)/letter.txt", O_WRONLY | O_CREAT | O_EXCL, 0o600)
        _ = record.withUnsafeBytes { write(writer, $0.baseAddress, 10) }
        guard case .waiting(let why) = await g.claimPack(path) else {
            Issue.record("not waiting")
            close(writer)
            return
        }
        #expect(why.contains("\"letter.txt\" is still open for writing"), "\(why)")
        // A transfer in progress under a .part name holds it back too.
        close(writer)
        try writeClosed(record, to: "\(path)/scan.pdf.part")
        guard case .waiting(let partial) = await g.claimPack(path) else { Issue.record("not waiting"); return }
        #expect(partial.contains("\"scan.pdf.part\", a transfer in progress"), "\(partial)")
        #expect(rename("\(path)/scan.pdf.part", "\(path)/scan.pdf") == 0)
        guard case .claimed(let id) = await g.claimPack(path) else { Issue.record("not claimed once complete"); return }
        let journal = try SQLiteJournal(path: g.practiceHome.path + "/journal.sqlite")
        #expect(try journal.files(of: id).map(\.name) == ["letter.txt", "scan.pdf", "summary.xml"])
    }
}
