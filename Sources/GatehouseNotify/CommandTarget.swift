import Glibc
public import GatehouseKit

/// Runs a program with the event on its standard input (`[notify.command]`): started directly
/// from its argument list (never through a shell, so nothing in an event can become a command),
/// with a minimal environment, killed after its timeout; what it prints is kept for the log, at
/// most ``maxOutput`` bytes.
public struct CommandTarget: Sendable {
    /// The most bytes of its output kept.
    static let maxOutput = 2048
    /// Its whole environment: nothing of the daemon's (paths, credentials) leaks into it.
    static let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"]

    let settings: NotifySettings.Command

    /// A target for `settings`.
    public init(_ settings: NotifySettings.Command) { self.settings = settings }

    /// Runs the program with `body` on its standard input; returns what it printed. Blocking:
    /// run it through ``BlockingWork``.
    public func send(_ body: [UInt8]) throws(NotifyError) -> String {
        let program = settings.argv[0]
        let input: (read: Int32, write: Int32), output: (read: Int32, write: Int32)
        do {
            input = try ChildProcess.pipe()
            output = try ChildProcess.pipe()
        } catch {
            throw NotifyError(.commandFailed, "\(program): \(error)")
        }
        let child: ChildProcess
        do {
            defer { close(input.read); close(output.write) }
            child = try ChildProcess(executable: program, arguments: Array(settings.argv.dropFirst()),
                                     stdin: input.read, stdout: output.write, stderr: output.write,
                                     environment: Self.environment)
        } catch {
            close(input.write)
            close(output.read)
            throw NotifyError(.commandFailed, "cannot start \(program): \(error)")
        }
        defer { close(output.read) }
        let deadline = NotifySocket.now() + settings.timeout.milliseconds
        _ = fcntl(input.write, F_SETFL, fcntl(input.write, F_GETFL) | O_NONBLOCK)
        _ = fcntl(output.read, F_SETFL, fcntl(output.read, F_GETFL) | O_NONBLOCK)
        var pending = body[...]
        var kept: [UInt8] = []
        var inputOpen = true
        var buffer = [UInt8](repeating: 0, count: 4096)
        while NotifySocket.now() < deadline {
            if inputOpen && pending.isEmpty {
                close(input.write)
                inputOpen = false
            }
            var fds = [pollfd(fd: output.read, events: Int16(POLLIN), revents: 0)]
            if inputOpen { fds.append(pollfd(fd: input.write, events: Int16(POLLOUT), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), 50)
            if inputOpen && fds[1].revents != 0 {
                let n = pending.withUnsafeBytes { Glibc.write(input.write, $0.baseAddress!, $0.count) }
                if n > 0 {
                    pending = pending.dropFirst(n)
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    pending = []  // it closed its input: it gets no more
                }
            }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(output.read, $0.baseAddress!, $0.count) }
            if n > 0 {
                // Read on to the end, keeping only the first bytes: a chatty program never blocks.
                kept += buffer.prefix(min(n, Self.maxOutput - kept.count))
                continue
            }
            // The end of its output, or nothing new and it has exited (a child it left behind
            // may hold the pipe open for ever).
            if n == 0 || (n < 0 && errno == EAGAIN && !child.isRunning) {
                if !child.isRunning { break }
                usleep(10_000)
            }
        }
        if inputOpen { close(input.write) }
        if child.isRunning {
            child.send(SIGKILL)
            child.wait()
            throw NotifyError(.commandFailed, "\(program) was killed after \(settings.timeout)\(Self.describe(kept))")
        }
        let status = child.wait()
        guard status == 0 else {
            throw NotifyError(.commandFailed, "\(program) exited with status \(status)\(Self.describe(kept))")
        }
        return Self.describe(kept)
    }

    /// The output as one line for the log.
    static func describe(_ output: [UInt8]) -> String {
        let line = LogText.line(output)
        return line.isEmpty ? "" : ": " + line
    }
}
