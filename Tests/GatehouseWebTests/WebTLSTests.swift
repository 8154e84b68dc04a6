import Foundation
import GatehouseKit
import GatehouseTesting
@testable import GatehouseWeb
import Testing

/// The certificate checks `gatehouse web` makes at start, and what `web cert` accepts.
@Suite struct WebTLSTests {
    /// Writes a fresh self-signed pair into `folder` (key 0600), made at `now`.
    static func pair(in folder: TemporaryDirectory, _ name: String, now: Date = Date(), days: Int = 30)
        throws -> (certificate: String, key: String)
    {
        let made = try SelfSignedCertificate.make(hosts: ["localhost"], organisation: "Test", days: days, now: now)
        let certificate = folder.appending("\(name)-certificate.pem"), key = folder.appending("\(name)-key.pem")
        try made.certificatePEM.write(toFile: certificate, atomically: true, encoding: .utf8)
        try made.keyPEM.write(toFile: key, atomically: true, encoding: .utf8)
        chmod(key, 0o600)
        return (certificate, key)
    }

    @Test func aGoodPairLoadsAndItsFingerprintIsTheCertificates() throws {
        let folder = try TemporaryDirectory()
        let (certificate, key) = try Self.pair(in: folder, "good")
        let tls = try WebTLS.load(certificate: certificate, key: key)
        #expect(tls.fingerprint.utf8.count == 95 && tls.fingerprint.split(separator: ":").count == 32)
        #expect(tls.configuration.minimumTLSVersion == .tlsv12)
    }

    @Test func expiredNotYetValidMismatchedAndReadableAreRefused() throws {
        let folder = try TemporaryDirectory()
        let (certificate, key) = try Self.pair(in: folder, "a")
        let (otherCertificate, _) = try Self.pair(in: folder, "b")
        func refusal(_ body: () throws(WebError) -> WebTLS) -> String {
            do { _ = try body() } catch { return error.message }
            return "(loaded)"
        }
        #expect(refusal { () throws(WebError) in try WebTLS.load(certificate: otherCertificate, key: key) }
            .contains("is not the key of the certificate"))
        let later = Date().addingTimeInterval(31 * 86_400)
        #expect(refusal { () throws(WebError) in try WebTLS.load(certificate: certificate, key: key, now: later) }
            .contains("expired on"))
        let earlier = Date().addingTimeInterval(-2 * 86_400)
        #expect(refusal { () throws(WebError) in try WebTLS.load(certificate: certificate, key: key, now: earlier) }
            .contains("is not valid until"))
        for mode: mode_t in [0o640, 0o604, 0o644] {
            chmod(key, mode)
            #expect(refusal { () throws(WebError) in try WebTLS.load(certificate: certificate, key: key) }
                .contains("chmod 600"), "\(String(mode, radix: 8))")
        }
        chmod(key, 0o600)
        // The certificate given as the key, and the key as the certificate.
        #expect(refusal { () throws(WebError) in try WebTLS.load(certificate: key, key: key) }
            .contains("holds no PEM certificate"))
        chmod(certificate, 0o600)
        #expect(refusal { () throws(WebError) in try WebTLS.load(certificate: certificate, key: certificate) }
            .contains("is not a PEM private key"))
        #expect(refusal { () throws(WebError) in try WebTLS.load(certificate: certificate, key: folder.path) }
            .contains("not a regular file"))
    }

    /// A TLS proxy in front does not make plain HTTP off loopback safe: the hop from the proxy
    /// to this server would carry passwords and records in clear. The server's own TLS does.
    @Test func plainHTTPOffLoopbackIsRefusedEvenBehindAProxy() throws {
        var proxied = WebSettings()
        proxied.listen = "0.0.0.0:8443"
        proxied.behindTLSProxy = true
        #expect(throws: WebError.self) { try WebServer.checkedAddress(proxied) }
        proxied.tlsCertificate = "/etc/gatehouse/tls-certificate.pem"
        #expect(throws: WebError.self) { try WebServer.checkedAddress(proxied) }  // no tls_key
        proxied.tlsKey = "/etc/gatehouse/tls-key.pem"
        #expect(try WebServer.checkedAddress(proxied) == ("0.0.0.0", 8443))
        proxied.trustedProxyUserHeader = "X-Remote-User"  // still loopback only, TLS or not
        #expect(throws: WebError.self) { try WebServer.checkedAddress(proxied) }
    }

    /// `--host` values become subject alternative names: addresses as addresses, names only of
    /// DNS's letters, so nothing a person types can add another name, a wildcard or a field.
    @Test func hostNamesAreDNSNamesOrAddresses() throws {
        for good in ["localhost", "gatehouse.hmp-northgate.example", "10.20.0.5", "::1", "GATEHOUSE.Example"] {
            #expect(throws: Never.self, "\(good)") { try SelfSignedCertificate.subjectName(good) }
        }
        #expect("\(try SelfSignedCertificate.subjectName("GATEHOUSE.Example"))".contains("gatehouse.example"))
        for bad in ["", "*.example", "a b", "-lead.example", "trail-.example", "a..b", "evil\nname", "x/../y",
                    "caf\u{E9}.example", String(repeating: "a", count: 64) + ".example", "10.0.0.1, DNS:evil"] {
            #expect(throws: WebError.self, "\(bad.debugDescription)") { try SelfSignedCertificate.subjectName(bad) }
        }
        #expect(throws: WebError.self) { try SelfSignedCertificate.make(hosts: ["a"], organisation: "T", days: 399) }
        #expect(throws: WebError.self) { try SelfSignedCertificate.make(hosts: ["a"], organisation: "T", days: 0) }
        #expect(throws: WebError.self) { try SelfSignedCertificate.make(hosts: [], organisation: "T", days: 30) }
    }
}
