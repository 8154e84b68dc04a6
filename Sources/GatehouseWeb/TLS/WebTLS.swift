import Foundation
import GatehouseCrypto
import Glibc
import HummingbirdTLS
import NIOSSL
import SwiftASN1
import X509

/// The certificate and key `gatehouse web` serves HTTPS with (`[web] tls_certificate` and
/// `tls_key`), checked when the server starts so that a mistake stops it with a message naming
/// the file, not with every browser's handshake failing later.
package struct WebTLS: Sendable {
    /// The server's TLS settings (TLS 1.2 or later).
    package let configuration: TLSConfiguration
    /// When the server's certificate expires.
    package let notValidAfter: Date
    /// The SHA-256 fingerprint of the server's certificate, as browsers show it (`AB:CD:…`).
    package let fingerprint: String

    /// The most a certificate chain or key file may hold: a chain of a few certificates is a
    /// few KiB; anything larger is the wrong file.
    static let maxFileBytes = 256 * 1024

    /// Reads and checks the pair: the key file must be a regular file no one but its owner may
    /// read; the certificate must parse, be valid at `now`, and belong to the key.
    package static func load(certificate: String, key: String, now: Date = Date()) throws(WebError) -> WebTLS {
        let keyBytes = try readKey(key)
        var wiped = keyBytes
        defer { for i in wiped.indices { wiped[i] = 0 } }
        let chainBytes = try read(certificate, what: "certificate")
        let chain: [Certificate]
        do {
            chain = try PEMDocument.parseMultiple(pemString: String(decoding: chainBytes, as: UTF8.self))
                .filter { $0.discriminator == "CERTIFICATE" }.map { try Certificate(pemDocument: $0) }
        } catch {
            throw .configuration("tls_certificate \(certificate) is not a PEM certificate: \(error)")
        }
        guard let leaf = chain.first else {
            throw .configuration(
                "tls_certificate \(certificate) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        let privateKey: Certificate.PrivateKey
        do { privateKey = try Certificate.PrivateKey(pemEncoded: String(decoding: keyBytes, as: UTF8.self)) } catch {
            throw .configuration(
                "tls_key \(key) is not a PEM private key (PKCS#8, EC or RSA; ECDSA, Ed25519 or RSA)")
        }
        // A key that is not the certificate's would fail every handshake: say so now.
        guard privateKey.publicKey == leaf.publicKey else {
            throw .configuration(
                "tls_key \(key) is not the key of the certificate in tls_certificate \(certificate): "
                    + "use the key the certificate was made for, or make a new pair with `gatehouse web cert`")
        }
        let stamp = { (date: Date) in ISO8601DateFormatter().string(from: date) }
        guard leaf.notValidAfter > now else {
            throw .configuration(
                "the certificate in tls_certificate \(certificate) expired on \(stamp(leaf.notValidAfter)): "
                    + "renew it, or make a new one with `gatehouse web cert --force`")
        }
        guard leaf.notValidBefore <= now else {
            throw .configuration(
                "the certificate in tls_certificate \(certificate) is not valid until "
                    + "\(stamp(leaf.notValidBefore)): check this machine's clock")
        }
        var configuration: TLSConfiguration
        do {
            let certificates = try NIOSSLCertificate.fromPEMBytes(chainBytes)
            configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: certificates.map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)))
        } catch {
            throw .configuration("tls_certificate \(certificate) or tls_key \(key) cannot be used for TLS: \(error)")
        }
        // TLS 1.0 and 1.1 are deprecated (RFC 8996).
        configuration.minimumTLSVersion = .tlsv12
        return WebTLS(configuration: configuration, notValidAfter: leaf.notValidAfter,
                      fingerprint: fingerprint(of: leaf))
    }

    /// The SHA-256 of `certificate`'s DER bytes in upper-case hex pairs joined by ':', as
    /// browsers show a certificate's fingerprint.
    package static func fingerprint(of certificate: Certificate) -> String {
        var serializer = DER.Serializer()
        try? serializer.serialize(certificate)
        return SHA256Hasher.hash(serializer.serializedBytes).bytes.map { byte in
            String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0x0F, radix: 16, uppercase: true)
        }.joined(separator: ":")
    }

    /// The key file's bytes, refused when group or others have any permission on it (as every
    /// secret key of a home is): whoever can read it can impersonate this server.
    static func readKey(_ path: String) throws(WebError) -> [UInt8] {
        // Checked on the open descriptor (not the name), so the file checked is the file read.
        // Links are followed: certbot's live/ folder is links into archive/.
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .configuration("cannot open tls_key \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw .configuration("tls_key \(path) is not a regular file")
        }
        let permissions = info.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw .configuration(
                "tls_key \(path) has mode 0\(String(permissions, radix: 8)): group or others can read this "
                    + "private key; run `chmod 600 \(path)`")
        }
        return try readAll(fd, path: path, what: "key")
    }

    static func read(_ path: String, what: String) throws(WebError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .configuration("cannot open tls_\(what) \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        return try readAll(fd, path: path, what: what)
    }

    static func readAll(_ fd: Int32, path: String, what: String) throws(WebError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maxFileBytes + 1)
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw .configuration("cannot read tls_\(what) \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            total += n
        }
        guard total <= maxFileBytes else { throw .configuration("tls_\(what) \(path) is over 256 KiB: not a PEM file") }
        let result = Array(bytes[..<total])
        for i in bytes.indices { bytes[i] = 0 }
        return result
    }
}
