import Foundation
import GatehouseTesting
import Testing

/// `gatehouse sftp-server` driven by OpenSSH's own `sftp` client, so the server is checked
/// against the real implementation: over pipes (`sftp -D`), and through a real sshd that forces
/// the server on the organisation's key, as a relay does.
@Suite("gatehouse sftp-server with OpenSSH's sftp client")
struct SFTPServerTests {
    let folder: TemporaryDirectory
    let root: String

    init() throws {
        folder = try TemporaryDirectory()
        root = folder.appending("mailboxes")
        for org in ["A81001", "YOI123"] { try FileManager.default.createDirectory(atPath: "\(root)/\(org)", withIntermediateDirectories: true) }
        try Data("mail for A81001".utf8).write(to: URL(fileURLWithPath: "\(root)/A81001/in1.ghb"))
        try Data("YOI123's mail".utf8).write(to: URL(fileURLWithPath: "\(root)/YOI123/secret.ghb"))
        try Data("a sealed bundle".utf8).write(to: URL(fileURLWithPath: folder.appending("out.ghb")))
    }

    /// Runs `sftp -b` with `commands` as A81001, over pipes or through sshd; returns (status,
    /// combined output).
    func sftp(_ commands: [String], viaSSH: Bool = false, org: String = "A81001",
              serverOptions: String = "") throws -> (Int32, String) {
        let batch = folder.appending("batch-\(UUID().uuidString)")
        try commands.joined(separator: "\n").write(toFile: batch, atomically: true, encoding: .utf8)
        let server = "\(try GatehouseProcess.binaryPath()) sftp-server --org \(org) --root \(root)\(serverOptions)"
        var sshd: SSHServer?
        var arguments = ["-b", batch, "-D", server]
        if viaSSH {
            let key = try SSHServer.makeClientKey(in: folder)
            let started = try SSHServer(authorizedKeys: ["command=\"\(server)\",restrict \(key.publicLine)"])
            sshd = started
            // `sftp` takes ssh's arguments, except that the port is -P and the subsystem is implied.
            let ssh = try started.sftpArguments(key: key.file)
            var options = ssh.dropLast(2).filter { $0 != "-s" }
            if let p = options.firstIndex(of: "-p") { options[p] = "-P" }
            arguments = ["-b", batch] + options + [ssh[ssh.count - 2]]
        }
        let output = try withExtendedLifetime(sshd) { try GatehouseProcess.runProgram("/usr/bin/sftp", arguments, home: folder.path) }
        return (output.status, output.stdout + output.stderr)
    }

    func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test(arguments: [false, true])
    func ownMailboxAndPublishingWork(viaSSH: Bool) throws {
        let (status, output) = try sftp([
            "ls /A81001", "get /A81001/in1.ghb got.ghb",
            "put out.ghb /YOI123/.upload.part", "rename /YOI123/.upload.part /YOI123/bundle.ghb",
            "rm /A81001/in1.ghb",
        ], viaSSH: viaSSH)
        #expect(status == 0, "\(output)")
        #expect(contents(folder.appending("got.ghb")) == "mail for A81001")
        #expect(contents("\(root)/YOI123/bundle.ghb") == "a sealed bundle")
        #expect(!FileManager.default.fileExists(atPath: "\(root)/YOI123/.upload.part"))
        #expect(!FileManager.default.fileExists(atPath: "\(root)/A81001/in1.ghb"))
    }

    @Test(arguments: [
        ("get /YOI123/secret.ghb stolen", "reading another organisation's mail"),
        ("ls /YOI123", "listing another organisation's mailbox"),
        ("put out.ghb /YOI123/direct.ghb", "uploading under a final name"),
        ("put out.ghb /ZZZ999/.x.part", "writing to an unregistered mailbox"),
        ("put out.ghb /../escape", "escaping the server folder"),
        ("put out.ghb /A81001/../YOI123/.x.part", "escaping through .."),
        ("mkdir /A81001/sub", "making folders"),
        ("rm /YOI123/secret.ghb", "removing another organisation's mail"),
        ("symlink /YOI123/secret.ghb /A81001/link", "making links"),
        ("chmod 777 /A81001/in1.ghb", "changing attributes"),
    ])
    func refusals(command: String, what: String) throws {
        for viaSSH in [false, true] { try refusal(command: command, what: what, viaSSH: viaSSH) }
    }

    func refusal(command: String, what: String, viaSSH: Bool) throws {
        let (status, output) = try sftp([command], viaSSH: viaSSH)
        #expect(status != 0, "\(what) was allowed\(viaSSH ? " through sshd" : ""): \(output)")
        #expect(!FileManager.default.fileExists(atPath: folder.appending("stolen")))
        #expect(contents("\(root)/YOI123/secret.ghb") == "YOI123's mail")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/YOI123")) == ["secret.ghb"], "\(what)")
        #expect(!FileManager.default.fileExists(atPath: folder.appending("escape")))
    }

    @Test func publishingNeverOverwrites() throws {
        try Data("first".utf8).write(to: URL(fileURLWithPath: "\(root)/YOI123/taken.ghb"))
        let (status, output) = try sftp(["put out.ghb /YOI123/.t.part", "rename /YOI123/.t.part /YOI123/taken.ghb"])
        #expect(status != 0, "\(output)")
        #expect(contents("\(root)/YOI123/taken.ghb") == "first")
    }

    @Test func quotasRefuseUploadsBeyondThemAndKeepWhatIsThere() throws {
        // YOI123's mailbox holds one file (secret.ghb): a quota of two files admits one more.
        let (first, output) = try sftp(["put out.ghb /YOI123/.a.part", "rename /YOI123/.a.part /YOI123/a.ghb"], serverOptions: " --quota-files 2")
        #expect(first == 0, "\(output)")
        let (second, refused) = try sftp(["put out.ghb /YOI123/.b.part"], serverOptions: " --quota-files 2")
        #expect(second != 0, "an upload beyond the quota was accepted: \(refused)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/YOI123"))?.sorted() == ["a.ghb", "secret.ghb"])
        // A byte quota the mailbox already reaches refuses the next upload too.
        let (bytes, _) = try sftp(["put out.ghb /YOI123/.c.part"], serverOptions: " --quota-bytes 10")
        #expect(bytes != 0)
    }

    @Test func oneSendersJunkStopsAtItsShareAndOthersStillDeliverThroughSSHD() throws {
        try FileManager.default.createDirectory(atPath: "\(root)/B82002", withIntermediateDirectories: true)
        let log = folder.appending("refusals.log")
        let options = " --sender-quota-files 2 --log \(log)"
        let (filled, output) = try sftp([
            "put out.ghb /YOI123/.j1.part", "rename /YOI123/.j1.part /YOI123/j1.ghb",
            "put out.ghb /YOI123/.j2.part", "rename /YOI123/.j2.part /YOI123/j2.ghb", "-put out.ghb /YOI123/.j3.part",
        ], viaSSH: true, org: "B82002", serverOptions: options)
        #expect(filled == 0, "\(output)")
        let held = try FileManager.default.contentsOfDirectory(atPath: "\(root)/YOI123").sorted()
        #expect(held == ["j1.ghb", "j2.ghb", "secret.ghb"])
        let (delivered, said) = try sftp(["put out.ghb /YOI123/.d.part", "rename /YOI123/.d.part /YOI123/d.ghb"],
                                         viaSSH: true, serverOptions: options)
        #expect(delivered == 0, "A81001 was locked out of YOI123's mailbox by B82002's junk: \(said)")
        let refusal = "B82002: refused open (create) \"/YOI123/.j3.part\": B82002's share of YOI123's mailbox is used up"
        #expect(contents(log)?.contains(refusal) == true,
                "\(contents(log) ?? "no log")")
    }
}
