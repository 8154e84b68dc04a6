internal import CLibssl
import Glibc

/// A byte stream to a receiver: plain TCP or TLS.
protocol NotifyStream {
    /// Writes all of `bytes` by `deadline` (ms, monotonic).
    func writeAll(_ bytes: [UInt8], until deadline: Int64) throws(NotifyError)
    /// Reads up to `count` bytes by `deadline`; empty at the end of the stream.
    func read(upTo count: Int, until deadline: Int64) throws(NotifyError) -> [UInt8]
}

extension NotifySocket: NotifyStream {}

/// TLS over a ``NotifySocket`` with OpenSSL's libssl. The receiver's certificate must chain to
/// the trusted authorities (the `ca_file` given, else the system store) and name the host in
/// the URL; there is no setting to skip either check: a webhook that accepted any certificate
/// would hand every event, and the signature secret's use, to whoever sits on the path.
final class TLSStream: NotifyStream {
    private let socket: NotifySocket
    private let context: OpaquePointer
    private let ssl: OpaquePointer

    /// Performs the handshake with `host` by `deadline`.
    init(socket: NotifySocket, host: String, caFile: String?, deadline: Int64) throws(NotifyError) {
        self.socket = socket
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw NotifyError(.tlsRefused, "TLS: \(Self.lastError())")
        }
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            throw NotifyError(.tlsRefused, "TLS: \(Self.lastError())")
        }
        self.context = context
        self.ssl = ssl
        _ = gatehouse_ssl_ctx_min_tls12(context)
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw NotifyError(.invalidTarget,
                                  "cannot read the certificate authorities in \(caFile): \(Self.lastError())")
            }
        } else {
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw NotifyError(.invalidTarget,
                                  "cannot load the system's certificate authorities: \(Self.lastError())")
            }
        }
        // The certificate must name the host: an IP address as an IP SAN, a name as a DNS SAN.
        var address = in6_addr()
        let isAddress = inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
        if isAddress {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1 else {
                throw NotifyError(.invalidTarget, "TLS: cannot check the address \(host)")
            }
        } else {
            guard SSL_set1_host(ssl, host) == 1 else {
                throw NotifyError(.invalidTarget, "TLS: cannot check the name \(host)")
            }
            _ = gatehouse_ssl_set_sni(ssl, host)
        }
        guard SSL_set_fd(ssl, socket.fd) == 1 else { throw NotifyError(.tlsRefused, "TLS: \(Self.lastError())") }
        try step("TLS handshake with \(host)", deadline) { SSL_connect(ssl) }
        let verdict = SSL_get_verify_result(ssl)
        guard verdict == X509_V_OK, SSL_get0_peer_certificate(ssl) != nil else {
            throw NotifyError(.tlsRefused, "TLS handshake with \(host): \(Self.verifyText(verdict))")
        }
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
    }

    func writeAll(_ bytes: [UInt8], until deadline: Int64) throws(NotifyError) {
        var offset = 0
        while offset < bytes.count {
            let n = try step("sending", deadline) {
                bytes.withUnsafeBytes { SSL_write(ssl, $0.baseAddress! + offset, Int32(bytes.count - offset)) }
            }
            offset += Int(n)
        }
    }

    func read(upTo count: Int, until deadline: Int64) throws(NotifyError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        do {
            let n = try step("waiting for the answer", deadline) {
                buffer.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress!, Int32(count)) }
            }
            return Array(buffer.prefix(Int(n)))
        } catch let error where error.category == .rejected {
            return []
        }
    }

    /// Runs an OpenSSL call until it completes, waiting on the socket as it asks; a clean close
    /// by the peer is `.rejected` (read as the end of the stream).
    @discardableResult
    private func step(_ what: String, _ deadline: Int64, _ call: () -> Int32) throws(NotifyError) -> Int32 {
        while true {
            ERR_clear_error()
            let result = call()
            if result > 0 { return result }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ: try socket.wait(for: Int16(POLLIN), until: deadline, doing: what)
            case SSL_ERROR_WANT_WRITE: try socket.wait(for: Int16(POLLOUT), until: deadline, doing: what)
            case SSL_ERROR_ZERO_RETURN: throw NotifyError(.rejected, "\(what): closed")
            default:
                let verdict = SSL_get_verify_result(ssl)
                let reason = verdict != X509_V_OK ? Self.verifyText(verdict) : Self.lastError()
                throw NotifyError(.tlsRefused, "\(what): \(reason)")
            }
        }
    }

    private static func verifyText(_ verdict: Int) -> String {
        String(cString: X509_verify_cert_error_string(verdict))
    }

    private static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "the connection was closed" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
