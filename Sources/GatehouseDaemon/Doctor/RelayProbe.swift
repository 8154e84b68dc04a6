import Glibc

/// A TCP connection to `host:port` that reads the server's first line, bounded in time.
enum RelayProbe {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The first line the server sends (RFC 4253 §4.2: the identification string).
    static func banner(host: String, port: Int, timeout: Duration) -> Result<String, Failure> {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            return .failure(Failure(description: "the name \(host) does not resolve (\(String(cString: gai_strerror(resolved))))"))
        }
        defer { freeaddrinfo(list) }
        let milliseconds = Int32(timeout.components.seconds * 1000)
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failure(Failure(description: String(cString: strerror(errno)))) }
        defer { close(fd) }
        if connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return .failure(Failure(description: String(cString: strerror(errno)))) }
            var pending = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&pending, 1, milliseconds) > 0 else { return .failure(Failure(description: "no answer within \(timeout)")) }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return .failure(Failure(description: String(cString: strerror(error)))) }
        }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        // The identification line is at most 255 bytes.
        while line.count < 255 {
            var readable = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&readable, 1, milliseconds) > 0 else { return .failure(Failure(description: "connected, but no SSH greeting within \(timeout)")) }
            guard read(fd, &byte, 1) == 1 else { break }
            if byte == 0x0a { break }
            if byte != 0x0d { line.append(byte) }
        }
        return .success(String(decoding: line, as: UTF8.self))
    }
}
