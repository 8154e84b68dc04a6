public import GatehouseFormat
import Glibc

/// Where a mailbox server session writes its refusals and notable events, for the relay's
/// operator: one line each, with the time, the organisation, the request, the path and the
/// reason, e.g.
///
///     2026-05-01T09:30:00Z [4242] B82002: refused opendir "/A81001": another organisation's mailbox is never listed
///
/// A relay passes `--log RELAY/log/sftp-server.log`: the file is opened with O_APPEND (each line
/// one write, so concurrent sessions never interleave within a line) and created 0640. Without
/// a file, lines go to standard error, which sshd sends to the client: there a refusal shows
/// only what the client was answered anyway, never the reason kept for the operator.
///
/// At most `linesPerSecond` lines a second per session; the rest are counted and reported in
/// one line when the next is written, or when the session ends.
public final class RefusalLog {
    /// The log file, or nil for standard error.
    public let file: String?
    let org: ODSCode
    let linesPerSecond: Int
    let now: () -> Int64
    private var fd: Int32 = -1
    private var opened = false
    private var second: Int64 = .min
    private var written = 0
    private var suppressed = 0
    private var full = false
    /// The largest the log file grows to (a few such lines a second stay far below it).
    static let maxFileBytes: Int = 256 << 20
    /// The most of a client's text (a path, a reason) written in one line, escaped.
    static let maxTextBytes = 512

    /// A log for `org`'s session, appended to `file` (standard error when nil). `now` gives the
    /// time in seconds since 1970 (for tests).
    public init(
        file: String?, org: ODSCode, linesPerSecond: Int = MailboxLimits.refusalLinesPerSecond,
        now: @escaping () -> Int64 = { Int64(time(nil)) }
    ) {
        self.file = file
        self.org = org
        self.linesPerSecond = linesPerSecond
        self.now = now
    }

    deinit {
        finish()
        if fd >= 0 { Glibc.close(fd) }
    }

    /// A refused request: `reason` is for the operator; `answered` is what the client was told.
    func refused(_ request: String, _ path: String, reason: String, answered: String) {
        let text = file == nil ? answered : reason
        write("refused \(request) \(Self.quoted(path)): \(Self.escaped(text))")
    }

    /// Something the operator should know about that is not a refusal.
    public func note(_ text: String) { write(Self.escaped(text)) }

    /// Reports refusals not yet logged (at the end of the session).
    public func finish() {
        guard suppressed > 0 else { return }
        let count = suppressed
        suppressed = 0
        emit("\(count) more refusal(s) not logged (at most \(linesPerSecond) lines a second per session)")
    }

    private func write(_ text: String) {
        let current = now()
        if current != second {
            // A new second: first say how many were left out in the last.
            finish()
            second = current
            written = 0
        }
        guard written < linesPerSecond else {
            suppressed += 1
            return
        }
        written += 1
        emit(text)
    }

    private func emit(_ text: String) {
        let time = RFC3339.format(UInt64(max(0, second == .min ? now() : second))) ?? "?"
        var line = Array("\(time) [\(getpid())] \(org): \(text)\n".utf8)
        if file == nil { line = Array("gatehouse sftp-server: \(org): \(text)\n".utf8) }
        let target = descriptor()
        guard target >= 0 else { return }
        // A bounded file: sessions are many and each may log every second. Past the bound, lines
        // are dropped (one line says so per session); rotating the file (logrotate, copytruncate)
        // starts it again.
        var info = stat()
        if file != nil, fstat(target, &info) == 0, info.st_size >= Self.maxFileBytes {
            guard !full else { return }
            full = true
            line = Array("\(time) [\(getpid())] \(org): the log has reached \(Self.maxFileBytes >> 20) MiB; this session logs no more\n".utf8)
        }
        _ = line.withUnsafeBytes { Glibc.write(target, $0.baseAddress, $0.count) }
    }

    private func descriptor() -> Int32 {
        guard let file else { return 2 }
        if !opened {
            opened = true
            fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o640)
            if fd < 0 {
                // Said on standard error (the client's), so without the relay's paths.
                let said =
                    "gatehouse sftp-server: the relay's log cannot be opened (\(String(cString: strerror(errno)))); "
                    + "this session's refusals are not logged\n"
                _ = said.withCString { Glibc.write(2, $0, strlen($0)) }
            }
        }
        // Unopenable: the line is dropped rather than sent to the client, which must not see it.
        return fd
    }

    /// `text` in double quotes, escaped as ``escaped(_:)``.
    static func quoted(_ text: String) -> String { "\"\(escaped(text).replacing("\"", with: "\\\""))\"" }

    /// `text` with everything but printable ASCII written as `\u{…}` (and `\` as `\\`), so a
    /// client's path can never start a new line, or hide what follows it, in the log.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            // Bounded: a 256 KiB path of control characters would otherwise be a 1.3 MB line.
            guard out.utf8.count < maxTextBytes else {
                out += "…(\(text.utf8.count) bytes in all)"
                break
            }
            switch scalar.value {
            case 0x5C: out += "\\\\"
            case 0x20...0x7E: out.unicodeScalars.append(scalar)
            default: out += "\\u{\(String(scalar.value, radix: 16))}"
            }
        }
        return out
    }
}
