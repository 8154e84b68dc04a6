import Glibc
import GatehouseFormat
import GatehouseKit
public import GatehouseSFTP

/// An SFTP v3 server that confines one organisation to the mailbox rules, run by stock OpenSSH
/// `sshd` as the forced command of that organisation's key:
///
/// - in its own mailbox it may list, read (STAT, OPEN for reading) and remove;
/// - in a registered organisation's mailbox (its folder exists) it may create new files under a
///   temporary dot-name only (never overwriting), write them, fsync them, and publish them with
///   `posix-rename@openssh.com` to a final name that does not exist yet; it may STAT and REMOVE
///   what it created in this session;
/// - nothing else: no other paths, no links, no folders, no overwrites, no reading others' mail.
///
/// Every refusal is an SFTP status, and is logged to standard error.
public final class MailboxServer {
    /// The organisation this session belongs to.
    public let org: ODSCode
    /// The mailbox server's folder.
    public let root: String
    /// Most bytes one mailbox may hold.
    public let quotaBytes: UInt64
    /// Most files one mailbox may hold.
    public let quotaFiles: Int

    var handles: [UInt32: OpenHandle] = [:]
    var nextHandle: UInt32 = 1
    /// Files this session created, by their current path: it may STAT, REMOVE and rename them.
    var created: Set<MailboxPath> = []
    /// The names the last listing of the own mailbox returned (see `mailbox-wait@gatehouse`).
    var lastListing: Set<String> = []
    let log: (String) -> Void

    enum OpenHandle {
        /// `writeLimit`: nil for reading; for an upload, the end offset its writes may reach
        /// (what the mailbox's byte quota had left when it was created).
        case file(fd: Int32, path: MailboxPath, writeLimit: UInt64?)
        case directory(names: [String], offset: Int)
    }

    /// A server for `org` over the mailbox server folder `root`.
    public init(org: ODSCode, root: String, quotaBytes: UInt64 = 10 << 30, quotaFiles: Int = 100_000,
                log: @escaping (String) -> Void = { FileHandleLog.write($0) }) {
        self.org = org
        self.root = root
        self.quotaBytes = quotaBytes
        self.quotaFiles = quotaFiles
        self.log = log
    }

    deinit {
        for case .file(let fd, _, _) in handles.values { Glibc.close(fd) }
    }

    /// Serves requests from `input` to `output` (file descriptors) until the client goes away.
    public func serve(input: Int32 = 0, output: Int32 = 1) {
        var parser = SFTPPacketParser()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        // However the session ends (the client left, the channel broke, a malformed packet),
        // unfinished uploads are removed.
        defer { abandonTransfers() }
        while true {
            let n = Glibc.read(input, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            do {
                while let request = try parser.next() {
                    let reply: SFTPMessage
                    if case .extended(let id, SFTP.Extension.mailboxWait, let data) = request {
                        // Waiting also watches `input`, so it needs the descriptor.
                        switch try? SFTPExtendedRequest.decode(name: SFTP.Extension.mailboxWait, data: data) {
                        // A request already read behind this one: no waiting, it is served next.
                        case .mailboxWait(let path, let timeout)?:
                            reply = parser.buffered > 0 ? status(id, .eof) : waitForMail(id, path, timeout, input: input)
                        default: reply = status(id, .badMessage, "\(SFTP.Extension.mailboxWait): malformed request")
                        }
                    } else {
                        reply = handle(request)
                    }
                    guard ChildProcess.writeAll(output, reply.encoded()) else { return }
                }
            } catch {
                // A malformed stream cannot be resynchronised: end the session.
                log("refused a malformed packet from \(org): \(error)")
                return
            }
        }
    }

    /// The client has gone: files it created but never published are removed, so an upload cut
    /// off mid-way leaves nothing behind (final names are only ever made by a complete rename).
    func abandonTransfers() {
        for path in created where path.isTemporary {
            if unlink(filePath(path)) == 0 { log("\(org) went away: removed its unfinished \(path)") }
        }
        created.removeAll()
    }


    func folder(_ org: ODSCode) -> String { "\(root)/\(org.value)" }
    func filePath(_ path: MailboxPath) -> String { "\(folder(path.org))/\(path.name ?? "")" }

    func status(_ id: UInt32, _ code: SFTP.StatusCode, _ message: String = "") -> SFTPMessage {
        if code != .ok && code != .eof { log("\(org): \(message.isEmpty ? "\(code)" : message)") }
        return .status(id: id, code: code.rawValue, message: message, language: "")
    }

    func refuse(_ id: UInt32, _ why: String) -> SFTPMessage { status(id, .permissionDenied, why) }

    func errnoStatus(_ id: UInt32, _ doing: String) -> SFTPMessage {
        let code: SFTP.StatusCode = switch errno {
        case ENOENT: .noSuchFile
        case EACCES, EPERM: .permissionDenied
        default: .failure
        }
        return status(id, code, "\(doing): \(String(cString: strerror(errno)))")
    }

    /// True when `org` is registered on this server (its mailbox folder exists).
    func isRegistered(_ org: ODSCode) -> Bool {
        var info = Glibc.stat()
        return lstat(folder(org), &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }
}

/// Writes log lines to standard error (sshd passes them to its logs or the client).
public enum FileHandleLog {
    /// One line.
    public static func write(_ line: String) {
        let text = "gatehouse sftp-server: \(line)\n"
        _ = text.withCString { Glibc.write(2, $0, strlen($0)) }
    }
}
