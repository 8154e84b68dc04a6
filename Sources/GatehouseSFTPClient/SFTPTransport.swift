import Foundation
import Glibc
public import GatehouseFormat
public import GatehouseKit
import GatehouseSFTP

/// The `sftp://` mailbox transport: OpenSSH's `ssh` logs in to the relay with the organisation's
/// SSH key, the relay's host key pinned, and Gatehouse speaks SFTP over its pipes.
///
/// One long-lived session, reused for every operation and reconnected when it drops. A failed
/// connection is not retried before a backoff delay (by default 1 s doubling to 60 s, jittered;
/// a gateway passes its `retry_initial` and `retry_max`) has passed, so a relay that is down
/// sees a handful of attempts, not a storm, and is used again within `retry_max` of its return.
public actor SFTPTransport: MailboxTransport {
    /// The relay.
    public let address: SFTPServerAddress
    /// How `ssh` is run.
    public let ssh: SSHInvocation
    /// Longest wait for new mail in one `mailbox-wait@gatehouse` request.
    public let longWait: Duration
    /// The ceiling of the first reconnection delay, and of every later one.
    public let backoffInitial: Duration, backoffMax: Duration
    private let log: @Sendable (String) -> Void
    private var client: SFTPClient?
    private var connecting: Task<SFTPClient, any Error>?
    private var failures = 0
    private var retryAt = ContinuousClock.now
    private var lastFailure = ""
    /// Connections started so far (each runs `ssh` once).
    public private(set) var connectionAttempts = 0

    /// A transport to `address`, logging connection events with `log`.
    public init(address: SFTPServerAddress, ssh: SSHInvocation, longWait: Duration = .seconds(15),
                backoffInitial: Duration = .seconds(1), backoffMax: Duration = .seconds(60),
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.address = address
        self.ssh = ssh
        self.longWait = longWait
        self.backoffInitial = backoffInitial
        self.backoffMax = max(backoffInitial, backoffMax)
        self.log = log
    }

    /// Ends the session, if any.
    public func close() {
        client?.connection.close()
        client = nil
    }

    /// The process id of the current session's `ssh`, for tests that cut connections.
    public func sessionProcess() -> Int32? { client.map { $0.connection.processIdentifier } }

    // MARK: MailboxTransport

    public func deliver(_ path: String, to org: ODSCode, as name: String) async throws {
        _ = try await using { try await $0.upload(path, to: "/\(org.value)", as: name) }
    }

    public nonisolated var deliversWhileSealing: Bool { true }

    public func deliver(growing: GrowingFile, to org: ODSCode, as name: String) async throws {
        _ = try await using { try await $0.upload(growing: growing, to: "/\(org.value)", as: name) }
    }

    public func list(_ org: ODSCode) async throws -> [String] {
        try await using { client in
            try await client.list("/\(org.value)").map(\.filename).filter { $0.utf8.first != UInt8(ascii: ".") }.sorted()
        }
    }

    public func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64) async throws {
        try await using { try await $0.download("/\(org.value)/\(name)", to: path, maxBytes: maxBytes) }
    }

    public nonisolated var fetchesProgressively: Bool { true }

    public func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64, progress: GrowingFile) async throws {
        do {
            try await using { try await $0.download("/\(org.value)/\(name)", to: path, maxBytes: maxBytes, progress: progress) }
        } catch {
            progress.fail("\(error)")  // (a failure before the download began)
            throw error
        }
    }

    /// Downloads the file at `remote` (a path outside any mailbox, such as the relay's published
    /// directory) into the new local file `path`.
    public func download(_ remote: String, to path: String, maxBytes: UInt64) async throws {
        try await using { try await $0.download(remote, to: path, maxBytes: maxBytes) }
    }

    public func remove(_ name: String, from org: ODSCode) async throws {
        try await using { client in
            do { try await client.remove("/\(org.value)/\(name)") } catch SFTPClientError.status(.noSuchFile?, _, _) {}
        }
    }

    /// The relay's clock (seconds since 1970), read from a probe file in `org`'s mailbox.
    public func serverTime(in org: ODSCode) async throws -> UInt32 {
        try await using { try await $0.serverTime(in: "/\(org.value)") }
    }

    public func waitForMail(_ org: ODSCode, upTo timeout: Duration) async {
        await waitForMail(org, upTo: timeout, uploads: false)
    }

    /// True: the relay is asked; an SFTP server that does not tell of uploads in progress makes
    /// ``uploadsInProgress(_:)`` and ``follow(_:in:maxBytes:consume:)`` throw
    /// ``FollowFailure/unsupported(_:)``.
    public nonisolated var followsUploads: Bool { true }

    public func waitForMail(_ org: ODSCode, upTo timeout: Duration, uploads: Bool) async {
        guard let client = try? await session(), client.supports(SFTP.Extension.mailboxWait) else {
            try? await Task.sleep(for: timeout)
            return
        }
        // The relay answers as soon as new mail arrives; the long wait costs one idle request.
        // The relay caps one wait at a minute anyway; the caller simply waits again.
        let wait = min(max(timeout, longWait), .seconds(60))
        let connection = client.connection
        let reply = await withTaskCancellationHandler {
            // Flags only for a relay that takes them: an older one would refuse the request.
            try? await client.waitForMail("/\(org.value)", upTo: wait, uploads: uploads && client.followsUploads)
        } onCancel: {
            connection.close()
        }
        if reply == nil, !Task.isCancelled { try? await Task.sleep(for: timeout) }
    }

    public func uploadsInProgress(_ org: ODSCode) async throws -> [ArrivingUpload] {
        try await using { client in
            // The relay's tag is always an ODS code; anything else is not listed.
            try await client.uploads(in: "/\(org.value)").compactMap { upload in
                (try? ODSCode(upload.uploader)).map {
                    ArrivingUpload(name: upload.name, uploader: $0, size: upload.size)
                }
            }
        }
    }

    // Not isolated: `consume` runs in the caller's context, never sent to the actor.
    public nonisolated func follow(
        _ name: String, in org: ODSCode, maxBytes: UInt64, consume: (ArraySlice<UInt8>) async throws -> Void
    ) async throws -> FollowedUpload {
        let client = try await session()
        do {
            return try await client.follow("/\(org.value)/\(name)", maxBytes: maxBytes, consume: consume)
        } catch let error as SFTPClientError {
            throw await ended(client, error)
        }
    }

    // MARK: Sessions

    /// Runs `body` on the session; a lost connection is dropped (the next call reconnects) and
    /// reported with what `ssh` said.
    private func using<R: Sendable>(_ body: @Sendable (SFTPClient) async throws -> R) async throws -> R {
        let client = try await session()
        do {
            return try await body(client)
        } catch let error as SFTPClientError {
            throw await ended(client, error)
        }
    }

    /// What to throw for `error`, met on `client`'s session: a lost session is dropped and
    /// reported with what `ssh` said; an upload not followed is the transport's ``FollowFailure``.
    private func ended(_ client: SFTPClient, _ error: SFTPClientError) async -> any Error {
        switch error {
        case .connectionLost, .protocolError:
            client.connection.close()
            if self.client?.connection === client.connection { self.client = nil }
            let said = SSHDiagnosis.lastLine(await client.connection.diagnostics(waitingUpTo: .milliseconds(500)))
            log("the session with \(address.host):\(address.port) ended: \(error)\(said.map { " (ssh: \($0))" } ?? "")")
            return SFTPTransportError.connectionLost("\(relayName): \(error)\(said.map { "; ssh said: \($0)" } ?? "")")
        case .notFollowed(let failure):
            return failure
        case .status, .local:
            return error
        }
    }

    private var relayName: String { "relay \(address.host):\(address.port)" }

    /// The open session, or a new one; refuses to reconnect during the backoff after a failure.
    func session() async throws -> SFTPClient {
        if let client, !client.connection.isClosed { return client }
        client = nil
        if let connecting { return try await connecting.value }
        let now = ContinuousClock.now
        guard now >= retryAt else {
            let seconds = Double((retryAt - now).components.seconds) + Double((retryAt - now).components.attoseconds) / 1e18
            throw SFTPTransportError.backingOff("\(relayName) not retried for another \(String(format: "%.1f", seconds)) s after: \(lastFailure)")
        }
        connectionAttempts += 1
        let task = Task { [ssh, address] in try await Self.connect(ssh, address) }
        connecting = task
        defer { connecting = nil }
        do {
            let client = try await task.value
            if failures > 0 { log("connected to \(relayName) again after \(failures) failed attempt(s)") }
            failures = 0
            self.client = client
            return client
        } catch {
            failures += 1
            // Exponential, capped, with jitter so that many gateways do not return in step.
            retryAt = ContinuousClock.now + reconnectDelay(afterFailures: failures)
            lastFailure = "\(error)"
            log("connecting to \(relayName) failed (attempt \(failures)): \(error)")
            throw error
        }
    }

    /// The wait before reconnecting after `failures` failed attempts: between half and all of
    /// `backoffInitial` doubled per failure, capped at `backoffMax`.
    public func reconnectDelay(afterFailures failures: Int) -> Duration {
        var ceiling = backoffInitial
        for _ in 1..<max(1, failures) where ceiling < backoffMax { ceiling *= 2 }
        return min(ceiling, backoffMax) * Double.random(in: 0.5...1)
    }

    private static func connect(_ ssh: SSHInvocation, _ address: SFTPServerAddress) async throws -> SFTPClient {
        try ssh.writeKnownHosts(for: address)
        let connection = try SFTPConnection(executable: ssh.executable, arguments: ssh.arguments(for: address))
        do {
            return try await SFTPClient.start(connection)
        } catch {
            connection.close()
            let said = await connection.diagnostics()
            throw SFTPTransportError.unreachable(SSHDiagnosis.explain(said, address: address, fallback: "\(error)"),
                                                 SSHDiagnosis.cause(said))
        }
    }
}

/// How Gatehouse runs OpenSSH's `ssh` for one mailbox: the organisation's key, and a
/// known-hosts file of its own that pins the relay's host key under an alias.
public struct SSHInvocation: Sendable {
    /// The `ssh` program.
    public var executable: String
    /// The organisation's SSH private key file.
    public var identityFile: String
    /// The known-hosts file written for this mailbox.
    public var knownHostsFile: String
    /// The name the pinned key is filed under (`HostKeyAlias`), independent of host and port.
    public var hostKeyAlias: String
    /// Seconds to wait for the TCP connection and SSH handshake.
    public var connectTimeout = 10

    /// An invocation with the `ssh` found on `PATH`.
    public init(identityFile: String, knownHostsFile: String, hostKeyAlias: String, executable: String = SSHInvocation.locateSSH()) {
        self.executable = executable
        self.identityFile = identityFile
        self.knownHostsFile = knownHostsFile
        self.hostKeyAlias = hostKeyAlias
    }

    /// `ssh` on `PATH`, else `/usr/bin/ssh`.
    public static func locateSSH() -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") where access("\(folder)/ssh", X_OK) == 0 { return "\(folder)/ssh" }
        return "/usr/bin/ssh"
    }

    /// Writes the known-hosts file: one line, the alias and the pinned key.
    public func writeKnownHosts(for address: SFTPServerAddress) throws {
        let line = "\(hostKeyAlias) \(OpenSSHKey.publicLine(address.hostKey))\n"
        try FileOperations.replaceAtomically(at: knownHostsFile, contents: Array(line.utf8), mode: 0o644)
    }

    /// The arguments for an SFTP subsystem session: key-only, batch mode, no user or system
    /// configuration, the host key pinned, nothing forwarded.
    public func arguments(for address: SFTPServerAddress) -> [String] {
        let options = [
            "BatchMode=yes", "IdentitiesOnly=yes", "IdentityAgent=none",
            "PasswordAuthentication=no", "KbdInteractiveAuthentication=no", "PubkeyAuthentication=yes",
            "StrictHostKeyChecking=yes", "UserKnownHostsFile=\(knownHostsFile)", "GlobalKnownHostsFile=/dev/null",
            "HostKeyAlias=\(hostKeyAlias)", "HostKeyAlgorithms=ssh-ed25519", "UpdateHostKeys=no", "CheckHostIP=no",
            "ConnectTimeout=\(connectTimeout)", "ServerAliveInterval=15", "ServerAliveCountMax=3",
            "ClearAllForwardings=yes", "ForwardAgent=no", "ForwardX11=no", "PermitLocalCommand=no",
            "LogLevel=ERROR",
        ]
        return ["-F", "/dev/null", "-i", identityFile, "-p", String(address.port), "-l", address.user]
            + options.flatMap { ["-o", $0] } + ["-s", "--", address.host, "sftp"]
    }
}

/// A mailbox relay could not be used.
public enum SFTPTransportError: Error, CustomStringConvertible, Sendable {
    /// No session could be made; the text says why, from what `ssh` said, and the cause names it.
    case unreachable(String, SSHDiagnosis.Cause)
    /// A session ended while in use.
    case connectionLost(String)
    /// A recent attempt failed and the backoff delay has not passed.
    case backingOff(String)

    public var description: String {
        switch self {
        case .unreachable(let why, _), .connectionLost(let why), .backingOff(let why): why
        }
    }
}

/// Turns what `ssh` printed into a sentence an administrator can act on.
public enum SSHDiagnosis {
    /// Why a connection failed, as far as what `ssh` printed tells.
    public enum Cause: Sendable, Equatable {
        /// The relay presented another host key than the one pinned (its fingerprint, if shown).
        case hostKeyMismatch(presented: String?)
        /// The relay refused the organisation's key: it is not registered there.
        case keyRefused
        /// Nothing listens at the address.
        case connectionRefused
        /// No answer in time.
        case timedOut
        /// The host name does not resolve.
        case unresolved
        /// Anything else.
        case other
    }

    /// The cause of a failed connection, from what `ssh` printed.
    public static func cause(_ said: String) -> Cause {
        if said.contains("Host key verification failed") || said.contains("HOST IDENTIFICATION HAS CHANGED") {
            return .hostKeyMismatch(presented: presentedFingerprint(said))
        }
        if said.contains("Permission denied") { return .keyRefused }
        if said.contains("Connection refused") { return .connectionRefused }
        if said.contains("timed out") { return .timedOut }
        if said.contains("Could not resolve hostname") { return .unresolved }
        return .other
    }

    /// An explanation of a failed connection to `address`.
    public static func explain(_ said: String, address: SFTPServerAddress, fallback: String) -> String {
        let relay = "the relay at \(address.host):\(address.port)"
        let cause = cause(said)
        switch cause {
        case .hostKeyMismatch:
            return "\(problem(cause, address: address) ?? relay); "
                + "refusing to connect. If the relay's key was changed on purpose, its new address (`gatehouse relay address`) must reach you on a newly signed identity card or in gatehouse.toml"
        case .keyRefused:
            return "\(problem(cause, address: address) ?? relay): the relay's operator must register this organisation's identity card (`gatehouse relay add CARD`)"
        case .connectionRefused: return "\(relay) refused the connection: is the relay running?"
        case .timedOut: return "\(relay) did not answer in time (connection timed out)"
        case .unresolved: return "\(relay): the host name \(address.host) does not resolve"
        case .other:
            if let line = lastLine(said) { return "\(relay): \(line)" }
            return "\(relay): \(fallback)"
        }
    }

    /// What went wrong, without the advice ``explain(_:address:fallback:)`` adds, for the causes
    /// that have advice of their own (`doctor` gives its own fix beside it).
    public static func problem(_ cause: Cause, address: SFTPServerAddress) -> String? {
        let relay = "the relay at \(address.host):\(address.port)"
        switch cause {
        case .hostKeyMismatch(let presented):
            return "\(relay) presented host key \(presented ?? "(of another type)"), but the mailbox address pins \(address.hostKeyFingerprint)"
        case .keyRefused:
            return "\(relay) refused this organisation's SSH key as user \(address.user)"
        case .connectionRefused, .timedOut, .unresolved, .other:
            return nil
        }
    }

    /// The `SHA256:` fingerprint that `ssh` reports the server sent, if it printed one: the
    /// unpadded base64 that follows, byte by byte.
    static func presentedFingerprint(_ said: String) -> String? {
        guard let range = said.range(of: "SHA256:") else { return nil }
        let rest = said[range.upperBound...].utf8.prefix {
            (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
                || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "/")
        }
        return rest.isEmpty ? nil : "SHA256:\(String(decoding: rest, as: UTF8.self))"
    }

    /// The last non-empty line, trimmed, in quotes with every control, format or invisible
    /// character escaped (``ReadableText/shown(_:)``): what `ssh` prints includes what the relay
    /// sent on its standard error, which must not reach a terminal or a log as it is.
    public static func lastLine(_ said: String) -> String? {
        let blank: Set<UInt8> = [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r")]
        let lines = said.splitBytes(UInt8(ascii: "\n")).map { line -> Substring in
            var bytes = line.utf8[...]
            while let first = bytes.first, blank.contains(first) { bytes = bytes.dropFirst() }
            while let last = bytes.last, blank.contains(last) { bytes = bytes.dropLast() }
            return Substring(bytes)
        }
        return lines.last { !$0.isEmpty }.map(ReadableText.shown)
    }
}
