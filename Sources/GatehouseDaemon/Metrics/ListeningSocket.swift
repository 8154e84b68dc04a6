import Glibc
import GatehouseKit

/// A TCP socket listening on `HOST:PORT` (IPv4, or IPv6 in brackets: `[::1]:9464`).
struct ListeningSocket: Sendable {
    /// The descriptor, non-blocking.
    let fd: Int32
    /// The port it listens on (the one asked for, or the one the system chose for port 0).
    let port: Int

    /// Binds and listens; a clear error for a malformed address, one in use, or one not here.
    init(address: String) throws(KitError) {
        let (host, port) = try Self.parse(address)
        // Numeric only: a name could resolve to an address other than the one meant.
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let found = list?.pointee else { throw Self.invalid(address) }
        defer { freeaddrinfo(list) }
        let family = found.ai_family
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw KitError.io("creating the metrics socket failed: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, found.ai_addr, found.ai_addrlen) == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw KitError.invalidInput("cannot listen for metrics on \(address): \(reason) (is another program using that port, or is the address not one of this machine's?)")
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) } }
        let rawPort = family == AF_INET6
            ? withUnsafeBytes(of: actual) { $0.load(as: sockaddr_in6.self).sin6_port }
            : withUnsafeBytes(of: actual) { $0.load(as: sockaddr_in.self).sin_port }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: rawPort))
    }

    /// `HOST:PORT` split, with the brackets of an IPv6 host removed.
    static func parse(_ address: String) throws(KitError) -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else { throw invalid(address) }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw invalid(address) }
        return (host, port)
    }

    private static func invalid(_ address: String) -> KitError {
        .invalidInput("\(address.debugDescription) is not a metrics address: give HOST:PORT with a numeric address, e.g. 127.0.0.1:9464 or [::1]:9464")
    }
}
