import Foundation
import Glibc

/// A TCP server on 127.0.0.1 that greets every connection with fixed bytes and hangs up: a
/// stand-in for a hostile or mistaken relay, whose first line any client shows its user.
public final class BannerServer: @unchecked Sendable {
    private let fd: Int32

    /// Listens on `port` and answers each connection with `banner`.
    public init(port: Int, banner: [UInt8]) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
        guard bound, listen(fd, 16) == 0 else {
            close(fd)
            let why = String(cString: strerror(errno))
            throw GatehouseProcess.LaunchError(description: "cannot listen on 127.0.0.1:\(port): \(why)")
        }
        let listening = fd
        Thread {
            while true {
                let client = accept(listening, nil, nil)
                guard client >= 0 else { return }
                _ = banner.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
                close(client)
            }
        }.start()
    }

    /// Stops accepting (the waiting `accept` returns) and closes the socket.
    public func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}
