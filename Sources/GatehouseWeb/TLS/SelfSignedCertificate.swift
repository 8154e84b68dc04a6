import Crypto
import Foundation
import Glibc
import SwiftASN1
import X509

/// A self-signed certificate and its new private key for `gatehouse web cert`: HTTPS on first
/// use, before a certificate from the organisation's own authority replaces it. Browsers warn
/// about it until a person compares its fingerprint and accepts or installs it.
package struct SelfSignedCertificate: Sendable {
    /// The certificate, PEM.
    package let certificatePEM: String
    /// The private key, PEM (PKCS#8). Secret: written only to a 0600 file.
    package let keyPEM: String
    /// The certificate's SHA-256 fingerprint as browsers show it.
    package let fingerprint: String
    /// When it expires.
    package let notValidAfter: Date

    /// The longest validity offered: browsers refuse server certificates of more than 398 days
    /// from public authorities, and a local one should be replaced by then too.
    package static let maxDays = 398

    /// A new ECDSA P-256 key and a certificate for `hosts` (DNS names or IP addresses, the first
    /// also its common name) from `now` for `days` days, naming `organisation`.
    package static func make(hosts: [String], organisation: String, days: Int, now: Date = Date())
        throws(WebError) -> SelfSignedCertificate
    {
        guard (1...maxDays).contains(days) else {
            throw .invalidInput("--days \(days): a certificate is made for 1 to \(maxDays) days")
        }
        guard let first = hosts.first else { throw .invalidInput("a certificate needs at least one host name") }
        var names: [GeneralName] = []
        for host in hosts { names.append(try subjectName(host)) }
        // P-256: what every browser and TLS library accepts, and a small, fast key.
        let key = P256.Signing.PrivateKey()
        let issuerKey = Certificate.PrivateKey(key)
        do {
            let subject = try DistinguishedName {
                OrganizationName(String(organisation.prefix(64)))
                CommonName(String(first.prefix(64)))
            }
            // A server certificate, not an authority: it can sign nothing but handshakes, so a
            // copy installed as trusted in a browser vouches for this server only.
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: issuerKey.publicKey)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: issuerKey.publicKey,
                // An hour back: a browser whose clock is a little behind still accepts it.
                notValidBefore: now.addingTimeInterval(-3600),
                notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: issuerKey)
            return SelfSignedCertificate(
                certificatePEM: try certificate.serializeAsPEM().pemString, keyPEM: key.pemRepresentation,
                fingerprint: WebTLS.fingerprint(of: certificate), notValidAfter: certificate.notValidAfter)
        } catch {
            throw .invalidInput("could not make the certificate: \(error)")
        }
    }

    /// `host` as a subject alternative name: an IPv4 or IPv6 address, else a DNS name (letters,
    /// digits, '-' and '.'; labels of 1 to 63 bytes, at most 253 in all; lower-cased).
    package static func subjectName(_ host: String) throws(WebError) -> GeneralName {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: &v4) { ArraySlice($0) }))
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return .ipAddress(ASN1OctetString(contentBytes: withUnsafeBytes(of: &v6) { ArraySlice($0) }))
        }
        let name = host.lowercased()
        let labels = name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let isNameByte = { (b: UInt8) in (0x61...0x7A).contains(b) || (0x30...0x39).contains(b) || b == 0x2D }
        guard (1...253).contains(name.utf8.count),
            labels.allSatisfy({ (1...63).contains($0.count) && $0.allSatisfy(isNameByte)
                && $0.first != 0x2D && $0.last != 0x2D })
        else {
            throw .invalidInput(
                "--host \(host.debugDescription) is not a host name (letters, digits, '-' and '.') "
                    + "or an IP address")
        }
        return .dnsName(name)
    }
}
