import Foundation
import GatehouseKit
@testable import GatehouseNotify
import GatehouseTesting
import Testing

/// HTTPS webhooks: the certificate must chain to a trusted authority and name the host.
@Suite(.serialized) struct TLSVerificationTests {
    static let certificates = Result { try TestCertificates() }

    func send(to receiver: WebhookReceiver, host: String = "localhost", caFile: String?) throws(NotifyError) -> String {
        let url = receiver.url(host: host, secure: true)
        let target = try WebhookTarget(NotifySettings.Webhook(url: url, timeout: .seconds(5), caFile: caFile))
        return try target.send(Array("{}".utf8), event: "pack.received", id: "1")
    }

    @Test func acceptsACertificateForTheHostFromTheTrustedAuthority() throws {
        let certs = try Self.certificates.get()
        let receiver = try WebhookReceiver(certificate: certs.path("localhost.pem"), key: certs.path("localhost.key"))
        #expect(try send(to: receiver, caFile: certs.path("ca.pem")).hasPrefix("HTTP/1.1 200"))
        #expect(receiver.requests.count == 1)
    }

    @Test func refusesACertificateForAnotherHost() throws {
        let certs = try Self.certificates.get()
        let receiver = try WebhookReceiver(certificate: certs.path("wrong.pem"), key: certs.path("wrong.key"))
        #expect { try send(to: receiver, caFile: certs.path("ca.pem")) } throws: {
            ($0 as? NotifyError)?.category == .tlsRefused
        }
        #expect(receiver.requests.isEmpty)
    }

    @Test func refusesACertificateFromAnUntrustedAuthority() throws {
        let certs = try Self.certificates.get()
        let receiver = try WebhookReceiver(certificate: certs.path("rogue.pem"), key: certs.path("rogue.key"))
        #expect { try send(to: receiver, caFile: certs.path("ca.pem")) } throws: {
            ($0 as? NotifyError)?.category == .tlsRefused
        }
        // Nor does the system's store know a private test authority.
        let good = try WebhookReceiver(certificate: certs.path("localhost.pem"), key: certs.path("localhost.key"))
        #expect { try send(to: good, caFile: nil) } throws: { ($0 as? NotifyError)?.category == .tlsRefused }
        #expect(receiver.requests.isEmpty && good.requests.isEmpty)
    }

    /// An address in the URL must be in the certificate as an address: a name does not do.
    @Test func anAddressMustBeNamedAsAnAddress() throws {
        let certs = try Self.certificates.get()
        let receiver = try WebhookReceiver(certificate: certs.path("localhost.pem"), key: certs.path("localhost.key"))
        #expect { try send(to: receiver, host: "127.0.0.1", caFile: certs.path("ca.pem")) } throws: {
            ($0 as? NotifyError)?.category == .tlsRefused
        }
    }
}
