import Foundation
import GatehouseFormat
import GatehouseKit
import GatehouseSFTP
import GatehouseTesting
import Glibc

@testable import GatehouseRelay

/// A relay's mailbox folder with registered organisations, and in-process sessions on it.
final class RelayFixture {
    let folder: TemporaryDirectory
    /// The mailbox server folder (one sub-folder per organisation).
    let root: String
    /// The refusal log every session of this fixture appends to.
    let logFile: String

    /// Mailboxes for `orgs`: by default a practice, a prison and a third organisation ("C").
    init(orgs: [String] = ["A81001", "YOI123", "B82002"]) throws {
        folder = try TemporaryDirectory(prefix: "gatehouse-relay")
        root = folder.appending("mailboxes")
        logFile = folder.appending("sftp-server.log")
        for org in orgs {
            try FileManager.default.createDirectory(atPath: "\(root)/\(org)", withIntermediateDirectories: true)
        }
    }

    /// A new session of `org`, INIT already exchanged unless `initialise` is false. A wait for
    /// uploads is woken by an upload `followAfter` milliseconds old (at once here, unless a test
    /// is about that age).
    func session(
        _ org: String, quotas: MailboxQuotas = MailboxQuotas(), now: @escaping () -> Int64 = { Int64(time(nil)) },
        initialise: Bool = true, followAfter: UInt32 = 0
    ) throws -> MailboxSession {
        let ods = try ODSCode(org)
        let server = MailboxServer(
            org: ods, root: root, quotas: quotas, log: RefusalLog(file: logFile, org: ods, now: now))
        server.followAfterMilliseconds = followAfter
        return try MailboxSession(server: server, initialise: initialise)
    }

    /// The names in `org`'s mailbox, sorted.
    func names(_ org: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(org)")) ?? []).sorted()
    }

    /// The bytes of a file under the mailbox folder, e.g. "A81001/in.ghb".
    func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: "\(root)/\(path)").map { Array($0) }
    }

    /// Puts a file straight into a mailbox, as the relay's operator could (no uploader tag).
    func place(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: "\(root)/\(path)"))
    }

    /// The refusal log's lines.
    func logLines() -> [String] {
        ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }
}

/// One in-process session: `MailboxServer.serve` on a thread with one end of a socket pair; the
/// test speaks SFTP v3 packets on the other.
final class MailboxSession {
    private let fd: Int32
    private let serverFD: Int32
    private var parser = SFTPPacketParser()
    private var nextID: UInt32 = 100
    private let finished = DispatchSemaphore(value: 0)
    private var ended = false

    private final class Running: @unchecked Sendable {
        let server: MailboxServer, fd: Int32, finished: DispatchSemaphore
        init(_ server: MailboxServer, _ fd: Int32, _ finished: DispatchSemaphore) {
            (self.server, self.fd, self.finished) = (server, fd, finished)
        }
    }

    init(server: MailboxServer, initialise: Bool) throws {
        var pair: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else { throw POSIXError(.EIO) }
        (fd, serverFD) = (pair[0], pair[1])
        let running = Running(server, serverFD, finished)
        Thread {
            running.server.serve(input: running.fd, output: running.fd)
            // As the process's exit would: the client reads the end of the session.
            shutdown(running.fd, Int32(SHUT_RDWR))
            running.finished.signal()
        }.start()
        if initialise {
            send(.initialise(version: 3, extensions: []))
            guard case .version(3, _)? = receive() else { throw POSIXError(.EPROTO) }
        }
    }

    deinit { end() }

    /// Ends the session as a client that goes away would, and waits for the server to finish.
    func end() {
        guard !ended else { return }
        ended = true
        shutdown(fd, Int32(SHUT_WR))
        finished.wait()
        Glibc.close(fd)
        Glibc.close(serverFD)
    }

    /// Waits for the server to end the session by itself (true), after the client says nothing more.
    func serverEnded() -> Bool { receive() == nil }

    func send(_ message: SFTPMessage) {
        let bytes = message.encoded()
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            guard n > 0 else { return }
            done += n
        }
    }

    /// The next message from the server, nil when it has closed the session.
    func receive() -> SFTPMessage? {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let message = try? parser.next() { return message }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return nil }
            parser.append(buffer[0..<n])
        }
    }

    /// Sends the request made with a new id (or `id`) and returns the reply.
    @discardableResult
    func request(id: UInt32? = nil, _ make: (UInt32) -> SFTPMessage) -> SFTPMessage {
        let id =
            id
            ?? {
                nextID += 1
                return nextID
            }()
        send(make(id))
        return receive()
            ?? .status(id: id, code: SFTP.StatusCode.connectionLost.rawValue, message: "session ended", language: "")
    }

    // MARK: Uploads

    /// Opens `path` for a new upload; the handle, or nil with the refusal.
    func create(_ path: String) -> (handle: [UInt8]?, reply: SFTPMessage) {
        let reply = request {
            .open(id: $0, path: path, flags: [.write, .create, .exclusive], attributes: SFTPAttributes())
        }
        if case .handle(_, let handle) = reply { return (handle, reply) }
        return (nil, reply)
    }

    /// Writes `bytes` at `offset` through `handle`.
    func write(_ handle: [UInt8], _ bytes: [UInt8], at offset: UInt64 = 0) -> SFTPMessage {
        request { .write(id: $0, handle: handle, offset: offset, data: bytes) }
    }

    func close(_ handle: [UInt8]) -> SFTPMessage { request { .close(id: $0, handle: handle) } }

    func publish(_ from: String, _ to: String, id: UInt32? = nil) -> SFTPMessage {
        request(id: id) { SFTPExtendedRequest.posixRename(from: from, to: to).message(id: $0) }
    }

    /// Uploads `bytes` under the temporary `temporary` and publishes it as `final`: the reply
    /// to the first request that failed, or to the publish.
    @discardableResult
    func deliver(
        _ bytes: [UInt8], to final: String, via temporary: String? = nil, publishID: UInt32? = nil
    ) -> SFTPMessage {
        let slash = final.lastIndex(of: "/")!
        let temporary =
            temporary
            ?? "\(final[..<slash])/.\(final[final.index(after: slash)...]).\(UInt32.random(in: 0...UInt32.max)).part"
        let (handle, reply) = create(temporary)
        guard let handle else { return reply }
        var offset = 0
        while offset < bytes.count {
            let piece = Array(bytes[offset..<min(offset + 32 * 1024, bytes.count)])
            let written = write(handle, piece, at: UInt64(offset))
            guard written.isOK else { return written }
            offset += piece.count
        }
        let closed = close(handle)
        guard closed.isOK else { return closed }
        return publish(temporary, final, id: publishID)
    }
}

extension SFTPMessage {
    /// True for an SSH_FX_OK status.
    var isOK: Bool { if case .status(_, 0, _, _) = self { true } else { false } }

    /// The status code and message, for a status.
    var statusCode: (code: SFTP.StatusCode?, message: String)? {
        guard case .status(_, let code, let message, _) = self else { return nil }
        return (SFTP.StatusCode(rawValue: code), message)
    }

    /// True for a PERMISSION_DENIED status.
    var isRefusal: Bool { statusCode?.code == .permissionDenied }
}

/// A bundle file name for a new random bundle id.
func bundleName() -> String { MailboxName.bundle(.random()) }
