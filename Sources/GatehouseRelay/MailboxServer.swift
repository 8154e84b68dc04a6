import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import Glibc

/// An SFTP v3 server that confines one organisation to the mailbox rules, run by stock OpenSSH
/// `sshd` as the forced command of that organisation's key. The rules are one table,
/// ``MailboxPolicy``:
///
/// - in its own mailbox it may list, read (STAT, OPEN for reading) and remove; another session's
///   upload in progress there it may only list, read and follow to its publish (the arriving
///   column, ``MailboxServer/uploadState(_:_:whileSize:_:input:)``);
/// - in a registered organisation's mailbox (its folder exists) it may create new files under a
///   temporary dot-name only (never overwriting), write them, fsync them, and publish them once
///   closed with `posix-rename@openssh.com` to a new final name it may use (a receipt or key
///   manifest only under its own ODS code); it may STAT and REMOVE its own unfinished uploads;
///   it never learns anything about a published file there;
/// - nothing else: no other paths, no links, no folders, no overwrites, no reading others' mail;
/// - within quotas per sender and per mailbox (``MailboxQuotas``).
///
/// Every refusal is an SFTP status and a line in the refusal log (``RefusalLog``).
public final class MailboxServer {
    /// The organisation this session belongs to.
    public let org: ODSCode
    /// The mailbox server's folder.
    public let root: String
    /// The quotas of every mailbox.
    public let quotas: MailboxQuotas
    let log: RefusalLog

    var handles: [UInt32: OpenHandle] = [:]
    var nextHandle: UInt32 = 1
    /// This session's unfinished uploads (temporary names it created and has neither published
    /// nor removed): the only files it may STAT and REMOVE in another organisation's mailbox.
    var created: Set<MailboxPath> = []
    /// What this session may still write into each mailbox (see ``UploadBudget``).
    var budgets: [ODSCode: UploadBudget] = [:]
    /// The names (their bytes) the last listing of the own mailbox returned (see
    /// `mailbox-wait@gatehouse`).
    var lastListing: Set<[UInt8]> = []
    /// The uploads in progress in the own mailbox that the last `mailbox-uploads@gatehouse`
    /// saw (see `mailbox-wait@gatehouse` with the `uploads` flag).
    var toldUploads: Set<UploadInProgress.Key> = []
    /// The session's inotify instance for its waits, made at the first (-1 before).
    var notifier: Int32 = -1
    /// How long an upload must have been in progress before it wakes a wait for uploads
    /// (``MailboxLimits/followAfterMilliseconds``; tests shorten or lengthen it).
    var followAfterMilliseconds = MailboxLimits.followAfterMilliseconds
    /// A descriptor that becomes readable when the session must end (the relay's sshd exited,
    /// see ``RelayListener``), or -1.
    var lifeline: Int32 = -1

    enum OpenHandle {
        case reading(fd: Int32, path: MailboxPath)
        /// An upload arriving in the own mailbox (another session's), open for reading as it grows.
        case following(fd: Int32, path: MailboxPath)
        /// `written`: the upload's high-water mark, the end of its furthest write so far.
        case upload(fd: Int32, path: MailboxPath, written: UInt64)
        case directory(names: [String], offset: Int)
        /// A file of the published directory, open for reading (``DirectoryAreaPolicy``).
        case published(fd: Int32, name: String)
    }

    /// A server for `org` over the mailbox server folder `root`.
    public init(org: ODSCode, root: String, quotas: MailboxQuotas = MailboxQuotas(), log: RefusalLog? = nil) {
        self.org = org
        self.root = root
        self.quotas = quotas
        self.log = log ?? RefusalLog(file: nil, org: org)
    }

    deinit {
        if notifier >= 0 { Glibc.close(notifier) }
        for handle in handles.values {
            switch handle {
            case .reading(let fd, _), .following(let fd, _), .upload(let fd, _, _), .published(let fd, _):
                Glibc.close(fd)
            case .directory: break
            }
        }
    }

    /// Serves requests from `input` to `output` (file descriptors) until the client goes away,
    /// or until `lifeline` (a pidfd of the relay's sshd, ``RelayListener``) becomes readable.
    public func serve(input: Int32 = 0, output: Int32 = 1, lifeline: Int32 = -1) {
        self.lifeline = lifeline
        var parser = SFTPPacketParser()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SFTP.maxPacketLength, alignment: 16)
        defer { buffer.deallocate() }
        // However the session ends (the client left, the channel broke, a malformed packet),
        // unfinished uploads are removed and suppressed refusals counted.
        defer {
            abandonTransfers()
            log.finish()
        }
        var initialised = false
        while true {
            guard waitForInput(input) else { return log.note("the relay stopped: session ended") }
            let n = Glibc.read(input, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            // `relay remove` takes the mailbox away: a session open since then serves nothing more.
            guard isRegistered(org) else {
                return log.note("\(org) is no longer registered on this relay: session ended")
            }
            parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            do {
                while let request = try parser.next() {
                    // As OpenSSH's sftp-server: INIT first and once, or the session ends.
                    if case .initialise = request {
                        guard !initialised else { return log.note("sent SSH_FXP_INIT a second time: session ended") }
                        initialised = true
                    } else if !initialised {
                        return log.note("sent \(Self.packetName(request)) before SSH_FXP_INIT: session ended")
                    }
                    guard ChildProcess.writeAll(output, reply(to: request, parser: parser, input: input).encoded())
                    else { return }
                }
            } catch {
                // A malformed stream cannot be resynchronised: end the session.
                return log.note("sent a malformed packet: \(error); session ended")
            }
        }
    }

    /// The reply to one request; `mailbox-wait@gatehouse` and a waiting
    /// `mailbox-upload-state@gatehouse` also watch `input`.
    func reply(to request: SFTPMessage, parser: SFTPPacketParser, input: Int32) -> SFTPMessage {
        guard case .extended(let id, let name, let data) = request,
            name == SFTP.Extension.mailboxWait || name == SFTP.Extension.uploadState
        else { return handle(request) }
        let decoded: SFTPExtendedRequest
        do { decoded = try SFTPExtendedRequest.decode(name: name, data: data) } catch {
            return status(id, .badMessage, "\(name): malformed request: \(error)")
        }
        // A request already read behind this one: no waiting, it is served next.
        let mayWait = parser.buffered == 0
        switch decoded {
        case .mailboxWait(let text, let timeout, let flags):
            return permitted(.mailboxWait, id, text) { path, _ in
                guard path.name == nil else {
                    return refuse(id, .mailboxWait, text, "only a mailbox folder can be waited on", .own)
                }
                return mayWait ? waitForMail(id, path, timeout, flags: flags, input: input) : status(id, .eof)
            }
        case .uploadState(let handle, let size, let timeout):
            return onHandle(.uploadState, id, handle) {
                uploadState(id, $0, whileSize: mayWait ? size : nil, timeout, input: input)
            }
        default: return handle(request)
        }
    }

    /// Waits until `input` is readable (or closed); false when the lifeline says the relay
    /// stopped first. Without a lifeline, returns at once and the read blocks.
    func waitForInput(_ input: Int32) -> Bool {
        guard lifeline >= 0 else { return true }
        while true {
            var fds = [
                pollfd(fd: input, events: Int16(POLLIN), revents: 0),
                pollfd(fd: lifeline, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 && errno == EINTR { continue }
            // A poll that fails leaves the read to find out what is wrong with the input.
            guard ready > 0 else { return true }
            return fds[1].revents == 0
        }
    }

    /// The client has gone: files it created but never published are removed, so an upload cut
    /// off mid-way leaves nothing behind (final names are only ever made by a complete rename).
    func abandonTransfers() {
        for path in created where unlink(filePath(path)) == 0 {
            log.note("went away: removed its unfinished upload \(path)")
        }
        created.removeAll()
    }

    func folder(_ org: ODSCode) -> String { "\(root)/\(org.value)" }
    func filePath(_ path: MailboxPath) -> String { "\(folder(path.org))/\(path.name ?? "")" }

    /// True when `org` is registered on this server (its mailbox folder exists).
    func isRegistered(_ org: ODSCode) -> Bool {
        var info = Glibc.stat()
        return lstat(folder(org), &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// The packet's name for the log, e.g. SSH_FXP_OPEN.
    static func packetName(_ message: SFTPMessage) -> String {
        "SSH_FXP_" + String(describing: message).prefix { $0 != "(" }.uppercased()
    }
}
