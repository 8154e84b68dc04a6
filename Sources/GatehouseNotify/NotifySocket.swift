import Foundation
import Glibc

/// A TCP connection to a notification receiver in which every step has a deadline, so that a
/// receiver that never answers, or answers a byte a minute, costs at most its timeout.
/// Blocking calls: run on a thread of its own (``BlockingWork``), never on the daemon's tasks.
final class NotifySocket {
    let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Connects to `host`:`port` (each address it resolves to, in turn) by `deadline` (ms,
    /// monotonic).
    static func connect(host: String, port: Int, deadline: Int64) throws(NotifyError) -> NotifySocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        // Name lookup has no deadline of its own in libc: it runs on the notifier's thread.
        let looked = getaddrinfo(host, String(port), &hints, &list)
        guard looked == 0, let first = list else {
            throw NotifyError(.unreachable, "cannot resolve \(host): \(String(cString: gai_strerror(looked)))")
        }
        defer { freeaddrinfo(list) }
        var failure = "no address"
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let info = next {
            next = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            let socket = NotifySocket(fd: fd)
            if Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return socket }
            guard errno == EINPROGRESS else {
                failure = String(cString: strerror(errno))
                continue
            }
            do {
                try socket.wait(for: Int16(POLLOUT), until: deadline, doing: "connecting to \(host):\(port)")
            } catch {
                failure = error.message
                continue
            }
            var code: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length)
            if code == 0 { return socket }
            failure = String(cString: strerror(code))
        }
        throw NotifyError(.unreachable, "cannot connect to \(host):\(port): \(failure)")
    }

    /// Waits until the socket is ready for `events` or `deadline` passes.
    func wait(for events: Int16, until deadline: Int64, doing what: String) throws(NotifyError) {
        while true {
            let left = deadline - Self.now()
            guard left > 0 else { throw NotifyError(.timeout, "\(what): no answer in time") }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&entry, 1, Int32(min(left, 60_000)))
            if n > 0 { return }
            if n < 0 && errno != EINTR {
                throw NotifyError(.unreachable, "\(what): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Writes all of `bytes` by `deadline`.
    func writeAll(_ bytes: [UInt8], until deadline: Int64) throws(NotifyError) {
        var offset = 0
        while offset < bytes.count {
            // MSG_NOSIGNAL: a receiver that closes early is an error here, never a SIGPIPE.
            let n = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EINTR) {
                try wait(for: Int16(POLLOUT), until: deadline, doing: "sending")
            } else {
                throw NotifyError(.unreachable, "sending failed: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Reads up to `count` bytes by `deadline`; empty at the end of the stream.
    func read(upTo count: Int, until deadline: Int64) throws(NotifyError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, count, 0) }
            if n >= 0 { return Array(buffer.prefix(n)) }
            guard errno == EAGAIN || errno == EINTR else {
                throw NotifyError(.unreachable, "reading failed: \(String(cString: strerror(errno)))")
            }
            try wait(for: Int16(POLLIN), until: deadline, doing: "waiting for the answer")
        }
    }

    /// Milliseconds on the monotonic clock.
    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
