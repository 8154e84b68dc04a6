import Foundation
import Glibc
import GatehouseFormat
public import GatehouseKit
public import GatehouseSFTP
import Synchronization

/// An SFTP v3 session over a child process's standard input and output: OpenSSH's
/// `ssh -s … sftp` in production, or `sftp-server` itself in tests.
///
/// Replies may arrive out of order; each is matched to its request by id. Many requests may be
/// in flight at once (writes are pipelined by ``SFTPClient``).
public final class SFTPConnection: Sendable {
    private let child: ChildProcess
    private let input: Int32
    /// Requests waiting for their reply, and the error that ended the session (after which no
    /// request is registered): one lock, so a request never waits on a session already gone.
    private let state = Mutex<(pending: [UInt32: Pending], failure: (any Error)?)>(([:], nil))
    /// Writes go out in order on their own queue: a full pipe to ssh blocks that queue, never
    /// the shared threads Swift concurrency runs tasks on.
    private let writer = DispatchQueue(label: "gatehouse-sftp-writer")

    private struct Pending {
        /// Who awaits the reply; nil for a request sent in order whose reply is not awaited yet.
        var continuation: CheckedContinuation<SFTPMessage, any Error>?
        /// The reply, kept until it is awaited (requests sent in order only).
        var arrived: SFTPMessage?
        let deadline: ContinuousClock.Instant
    }

    /// How long a request may wait for its reply before the session is given up as hung.
    public static let requestTimeout: Duration = .seconds(120)
    private let nextID = Mutex<UInt32>(1)
    private let writeLock = Mutex(false)
    private let version = Mutex<(UInt32, [SFTPExtensionPair])?>(nil)
    /// The last 8 KiB the program wrote to standard error (ssh's diagnostics).
    private let errorText = Mutex<(text: [UInt8], finished: Bool)>(([], false))

    /// Starts `executable` with `arguments`; call ``handshake()`` next. The program's standard
    /// error goes to `stderr` when given, else it is kept for ``diagnostics(waitingUpTo:)``.
    public init(executable: String, arguments: [String], stderr: FileHandle? = nil) throws {
        let started = try Self.spawn(executable, arguments, stderr: stderr?.fileDescriptor)
        child = started.child
        input = started.input
        let output = started.output
        let thread = Thread { [self] in readLoop(output); Glibc.close(output) }
        thread.name = "gatehouse-sftp-reader"
        thread.start()
        if let errors = started.errors {
            let errorThread = Thread { [self] in errorLoop(errors); Glibc.close(errors) }
            errorThread.name = "gatehouse-sftp-stderr"
            errorThread.start()
        } else {
            errorText.withLock { $0.finished = true }
        }
        child.onExit { [weak self] (_: Int32) in
            self?.fail(SFTPClientError.connectionLost("the SFTP program exited with status \(self?.child.exitCode ?? -1)"))
        }
        // A server that stops answering (or never sends VERSION) must not hold a request, and
        // everyone waiting behind it, for ever.
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: .seconds(1))
                guard let self, !self.isClosed else { return }
                let now = ContinuousClock.now
                if self.state.withLock({ $0.pending.values.contains { $0.arrived == nil && $0.deadline < now } }) {
                    self.fail(SFTPClientError.connectionLost("the server did not answer a request in time"))
                    self.child.send(SIGTERM)
                    return
                }
            }
        }
    }

    /// Starts the program on new pipes; returns it with our ends (its standard error's too,
    /// unless `stderr` is given).
    private static func spawn(_ executable: String, _ arguments: [String], stderr: Int32?) throws
        -> (child: ChildProcess, input: Int32, output: Int32, errors: Int32?) {
        let toChild = try pipe()
        let fromChild = try pipe()
        let errorPipe: (read: Int32, write: Int32)? = stderr == nil ? try pipe() : nil
        // The child's ends are the child's alone: with ours closed, end-of-file arrives when
        // the child exits.
        defer {
            Glibc.close(toChild.read)
            Glibc.close(fromChild.write)
            if let errorPipe { Glibc.close(errorPipe.write) }
        }
        let child: ChildProcess
        do {
            child = try ChildProcess(executable: executable, arguments: arguments, stdin: toChild.read, stdout: fromChild.write,
                                     stderr: errorPipe?.write ?? stderr ?? 2)
        } catch {
            Glibc.close(toChild.write)
            Glibc.close(fromChild.read)
            if let errorPipe { Glibc.close(errorPipe.read) }
            throw SFTPClientError.connectionLost("cannot start \(executable): \(error.message)")
        }
        return (child, toChild.write, fromChild.read, errorPipe?.read)
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        do { return try ChildProcess.pipe() } catch { throw SFTPClientError.local(error.message) }
    }

    /// The process id of the program (ssh), for tests that cut the connection.
    public var processIdentifier: Int32 { child.pid }

    /// What the program wrote to standard error, once it has closed it or `timeout` has passed.
    public func diagnostics(waitingUpTo timeout: Duration = .seconds(2)) async -> String {
        let deadline = ContinuousClock.now + timeout
        while !errorText.withLock({ $0.finished }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return String(decoding: errorText.withLock { $0.text }, as: UTF8.self)
    }

    private func errorLoop(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            errorText.withLock { $0.text = Array(($0.text + buffer[0..<n]).suffix(8192)) }
        }
        errorText.withLock { $0.finished = true }
    }

    deinit {
        close()
        writeLock.withLock { closed in
            if !closed { Glibc.close(input) }
            closed = true
        }
    }

    /// Ends the session: stops the program. (Its input is closed when the connection goes away,
    /// so a writer in progress never sees the descriptor reused.)
    public func close() {
        child.send(SIGTERM)
        fail(SFTPClientError.connectionLost("the session was closed"))
    }

    /// The server's protocol version and extensions, after ``handshake()``.
    public var serverExtensions: [SFTPExtensionPair] { version.withLock { $0?.1 ?? [] } }

    /// Sends INIT and waits for VERSION 3 (at most 30 s: SSH login included).
    public func handshake() async throws {
        let reply = try await exchange(packet: SFTPMessage.initialise(version: SFTP.version, extensions: []).encoded(), id: 0, timeout: .seconds(30))
        guard case .version(let v, let extensions) = reply else { throw SFTPClientError.protocolError("expected VERSION, got \(reply)") }
        guard v == SFTP.version else { throw SFTPClientError.protocolError("the server speaks SFTP version \(v), not 3") }
        version.withLock { $0 = (v, extensions) }
    }

    /// A fresh request id.
    public func makeID() -> UInt32 { nextID.withLock { id in defer { id &+= 1; if id == 0 { id = 1 } }; return id } }

    /// Sends a request and waits for the reply with the same id; a request that waits on the
    /// server on purpose (mailbox-wait) gives a longer `timeout`.
    public func request(timeout: Duration = SFTPConnection.requestTimeout, _ build: (UInt32) -> SFTPMessage) async throws -> SFTPMessage {
        let id = makeID()
        return try await exchange(packet: build(id).encoded(), id: id, timeout: timeout)
    }

    /// Sends an already encoded request packet with id `id` and waits for its reply.
    public func send(packet: [UInt8], id: UInt32) async throws -> SFTPMessage {
        try await exchange(packet: packet, id: id, timeout: Self.requestTimeout)
    }

    /// Queues an already encoded request packet with id `id` now, after every packet queued
    /// before it, and returns its reply to await later. Pipelined WRITEs go out this way, so
    /// that they reach the server in the order of their offsets (sent from tasks of their own,
    /// they went out in whatever order the tasks ran: a relay then sees writes past a hole and
    /// over it, and marks the upload as rewritten for a reader following it).
    public func sendInOrder(packet: [UInt8], id: UInt32) -> SFTPReply {
        let registered = state.withLock { state in
            guard state.failure == nil else { return false }
            state.pending[id] = Pending(continuation: nil, arrived: nil, deadline: .now + Self.requestTimeout)
            return true
        }
        if registered { write(packet) }
        return SFTPReply(connection: self, id: id)
    }

    /// The reply to `id`, sent with ``sendInOrder(packet:id:)``.
    fileprivate func reply(to id: UInt32) async throws -> SFTPMessage {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<SFTPMessage, any Error>? = state.withLock { state in
                if let arrived = state.pending[id]?.arrived {
                    state.pending[id] = nil
                    return .success(arrived)
                }
                if state.pending[id] != nil {
                    state.pending[id]?.continuation = continuation
                    return nil
                }
                let unknown = SFTPClientError.protocolError("no request \(id) is waiting for a reply")
                return .failure(state.failure ?? unknown)
            }
            if let result { continuation.resume(with: result) }
        }
    }

    /// Sends the requests in this order in one write and waits for every reply (in the same
    /// order). A server handles requests about one file in the order they arrive, so a batch
    /// such as FSYNC, FSTAT and CLOSE of one handle costs one round trip instead of three.
    public func requests(_ builds: [(UInt32) -> SFTPMessage]) async throws -> [SFTPMessage] {
        let ids = builds.map { _ in makeID() }
        let packet = zip(ids, builds).flatMap { id, build in build(id).encoded() }
        // Every reply's waiter is registered before the batch is written, so no reply can
        // arrive for an id nobody waits on yet.
        let batch = Batch(packet: packet, count: ids.count)
        return try await withThrowingTaskGroup(of: (Int, SFTPMessage).self) { group in
            for (index, id) in ids.enumerated() {
                group.addTask { [self] in
                    let reply = try await exchange(id: id, timeout: Self.requestTimeout) { [self] in
                        if batch.registered() { write(batch.packet) }
                    }
                    return (index, reply)
                }
            }
            var replies = [SFTPMessage?](repeating: nil, count: ids.count)
            for try await (index, reply) in group { replies[index] = reply }
            return replies.map { $0! }
        }
    }

    /// A batch's packet and how many of its waiters are still to be registered.
    private final class Batch: Sendable {
        let packet: [UInt8]
        private let left: Mutex<Int>
        init(packet: [UInt8], count: Int) {
            self.packet = packet
            left = Mutex(count)
        }
        /// Counts one waiter in; true for the last one.
        func registered() -> Bool { left.withLock { $0 -= 1; return $0 == 0 } }
    }

    /// Sends a request whose reply nobody waits for (a CLOSE of a handle that was only read):
    /// it still goes out before any request sent after it, and its reply is dropped on arrival.
    public func post(_ build: (UInt32) -> SFTPMessage) {
        guard !isClosed else { return }
        write(build(makeID()).encoded())
    }

    private func exchange(packet bytes: [UInt8], id: UInt32, timeout: Duration) async throws -> SFTPMessage {
        try await exchange(id: id, timeout: timeout) { [self] in write(bytes) }
    }

    /// Registers a waiter for the reply `id`, then calls `send` (unless the session is over).
    private func exchange(id: UInt32, timeout: Duration, send: @escaping @Sendable () -> Void) async throws -> SFTPMessage {
        try await withCheckedThrowingContinuation { continuation in
            let failed: (any Error)? = state.withLock { state in
                if let failure = state.failure { return failure }
                state.pending[id] = Pending(continuation: continuation, deadline: .now + timeout)
                return nil
            }
            if let failed {
                continuation.resume(throwing: failed)
                return
            }
            send()
        }
    }

    /// Queues `bytes` for the program's input, after everything queued before.
    private func write(_ bytes: [UInt8]) {
        writer.async { [self] in
            let written: Bool = writeLock.withLock { closed in !closed && ChildProcess.writeAll(input, bytes) }
            if !written { fail(SFTPClientError.connectionLost("writing to the SFTP channel failed")) }
        }
    }


    private func readLoop(_ fd: Int32) {
        var parser = SFTPPacketParser()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            parser.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            do {
                while let message = try parser.next() {
                    // VERSION has no id: it answers the INIT, registered as id 0.
                    let id = message.id ?? 0
                    let waiting = state.withLock { state -> CheckedContinuation<SFTPMessage, any Error>? in
                        guard let pending = state.pending[id] else { return nil }
                        guard let continuation = pending.continuation else {
                            // Sent in order and not awaited yet: kept for whoever awaits it.
                            state.pending[id]?.arrived = message
                            return nil
                        }
                        state.pending[id] = nil
                        return continuation
                    }
                    waiting?.resume(returning: message)
                }
            } catch {
                fail(SFTPClientError.protocolError("the server sent a malformed packet: \(error)"))
                return
            }
        }
        fail(SFTPClientError.connectionLost("the SFTP channel closed"))
    }

    private func fail(_ error: any Error) {
        let waiting = state.withLock { state in
            if state.failure == nil { state.failure = error }
            // Replies that arrived before the end are still handed over; nothing else is.
            defer { state.pending = state.pending.filter { $0.value.arrived != nil } }
            return state.pending.values.compactMap(\.continuation)
        }
        for continuation in waiting { continuation.resume(throwing: error) }
    }

    /// True once the session has ended (the program exited, the channel closed, or ``close()``).
    public var isClosed: Bool { state.withLock { $0.failure != nil } }
}

/// The reply to a request sent with ``SFTPConnection/sendInOrder(packet:id:)``.
public struct SFTPReply: Sendable {
    let connection: SFTPConnection
    let id: UInt32

    /// Waits for the reply.
    public func value() async throws -> SFTPMessage { try await connection.reply(to: id) }
}

/// An SFTP client failure.
public enum SFTPClientError: Error, CustomStringConvertible, Sendable {
    /// The channel went away.
    case connectionLost(String)
    /// The server broke the protocol.
    case protocolError(String)
    /// The server answered a request with a failure status.
    case status(SFTP.StatusCode?, String, path: String)
    /// A local file could not be read or written.
    case local(String)
    /// An upload in progress could not be followed to a bundle
    /// (``SFTPClient/follow(_:maxBytes:consume:)``).
    case notFollowed(FollowFailure)

    /// What the server sent (a status message, a reply it should not have sent, a name from its
    /// listing) is the relay's text: shown escaped (``ReadableText/shown(_:)``), so that it never
    /// writes a terminal escape, a line break or a bidirectional override into a log, the journal
    /// or a terminal.
    public var description: String {
        switch self {
        case .connectionLost(let why): "SFTP connection lost: \(why)"
        case .protocolError(let why): "SFTP protocol error: \(ReadableText.shown(why))"
        case .local(let why): why
        case .notFollowed(let failure): ReadableText.shown(failure.description)
        case .status(let code, let message, let path):
            "\(ReadableText.shown(path)): "
                + (message.isEmpty ? code.map { "\($0)" } ?? "error" : ReadableText.shown(message))
        }
    }
}
