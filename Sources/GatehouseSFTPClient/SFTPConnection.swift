import Foundation
import Glibc
public import GatehouseSFTP
import Synchronization

/// An SFTP v3 session over a child process's standard input and output: OpenSSH's
/// `ssh -s … sftp` in production, or `sftp-server` itself in tests.
///
/// Replies may arrive out of order; each is matched to its request by id. Many requests may be
/// in flight at once (writes are pipelined by ``SFTPClient``).
public final class SFTPConnection: Sendable {
    private let process: Process
    private let input: FileHandle
    private let pending = Mutex<[UInt32: CheckedContinuation<SFTPMessage, any Error>]>([:])
    private let nextID = Mutex<UInt32>(1)
    private let failure = Mutex<(any Error)?>(nil)
    private let writeLock = Mutex(())
    private let version = Mutex<(UInt32, [SFTPExtensionPair])?>(nil)

    /// Starts `executable` with `arguments` and performs the INIT/VERSION exchange.
    public init(executable: String, arguments: [String], stderr: FileHandle? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let toChild = Pipe(), fromChild = Pipe()
        process.standardInput = toChild
        process.standardOutput = fromChild
        process.standardError = stderr ?? FileHandle.nullDevice
        try process.run()
        // Our copies of the child's ends must go, or the reader never sees end-of-file when
        // the child (ssh) exits.
        try? fromChild.fileHandleForWriting.close()
        try? toChild.fileHandleForReading.close()
        input = toChild.fileHandleForWriting
        let output = fromChild.fileHandleForReading
        process.terminationHandler = { [weak self] process in
            self?.fail(SFTPClientError.connectionLost("the SFTP program exited with status \(process.terminationStatus)"))
        }
        let thread = Thread { [self] in readLoop(output.fileDescriptor) }
        thread.name = "gatehouse-sftp-reader"
        thread.start()
    }

    deinit { close() }

    /// Ends the session: closes the child's input and stops it.
    public func close() {
        try? input.close()
        if process.isRunning { process.terminate() }
        fail(SFTPClientError.connectionLost("the session was closed"))
    }

    /// The server's protocol version and extensions, after ``handshake()``.
    public var serverExtensions: [SFTPExtensionPair] { version.withLock { $0?.1 ?? [] } }

    /// Sends INIT and waits for VERSION 3.
    public func handshake() async throws {
        let reply = try await exchange(.initialise(version: SFTP.version, extensions: []), id: 0)
        guard case .version(let v, let extensions) = reply else { throw SFTPClientError.protocolError("expected VERSION, got \(reply)") }
        guard v == SFTP.version else { throw SFTPClientError.protocolError("the server speaks SFTP version \(v), not 3") }
        version.withLock { $0 = (v, extensions) }
    }

    /// A fresh request id.
    public func makeID() -> UInt32 { nextID.withLock { id in defer { id &+= 1; if id == 0 { id = 1 } }; return id } }

    /// Sends a request and waits for the reply with the same id.
    public func request(_ build: (UInt32) -> SFTPMessage) async throws -> SFTPMessage {
        let id = makeID()
        return try await exchange(build(id), id: id)
    }

    private func exchange(_ message: SFTPMessage, id: UInt32) async throws -> SFTPMessage {
        try await withCheckedThrowingContinuation { continuation in
            if let error = failure.withLock({ $0 }) {
                continuation.resume(throwing: error)
                return
            }
            pending.withLock { $0[id] = continuation }
            let bytes = Data(message.encoded())
            let written: Bool = writeLock.withLock { _ in (try? input.write(contentsOf: bytes)) != nil }
            if !written {
                fail(SFTPClientError.connectionLost("writing to the SFTP channel failed"))
            }
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
                    let continuation = pending.withLock { $0.removeValue(forKey: id) }
                    continuation?.resume(returning: message)
                }
            } catch {
                fail(SFTPClientError.protocolError("the server sent a malformed packet: \(error)"))
                return
            }
        }
        fail(SFTPClientError.connectionLost("the SFTP channel closed"))
    }

    private func fail(_ error: any Error) {
        failure.withLock { if $0 == nil { $0 = error } }
        let waiting = pending.withLock { p in defer { p.removeAll() }; return Array(p.values) }
        for continuation in waiting { continuation.resume(throwing: error) }
    }
}

/// An SFTP client failure.
public enum SFTPClientError: Error, CustomStringConvertible, Sendable {
    /// The channel went away.
    case connectionLost(String)
    /// The server broke the protocol.
    case protocolError(String)
    /// The server answered a request with a failure status.
    case status(SFTP.StatusCode?, String, path: String)

    public var description: String {
        switch self {
        case .connectionLost(let why): "SFTP connection lost: \(why)"
        case .protocolError(let why): "SFTP protocol error: \(why)"
        case .status(let code, let message, let path): "\(path): \(message.isEmpty ? "\(code.map { "\($0)" } ?? "error")" : message)"
        }
    }
}
