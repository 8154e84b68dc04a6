import ArgumentParser
import Foundation
import GatehouseKit
import GatehouseWeb

/// `gatehouse web cert`: a self-signed certificate and key so that `gatehouse web` serves
/// HTTPS from the first day.
struct WebCertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cert",
        abstract: "Make a self-signed certificate and key for HTTPS on the web pages.",
        discussion: """
            Writes web/tls-certificate.pem and web/tls-key.pem (a new ECDSA P-256 key, mode \
            0600, written atomically) in the home folder, for the host names and IP addresses \
            given with --host (default: localhost, 127.0.0.1 and ::1), valid for --days days. \
            Refuses to replace an existing pair unless --force. Prints the certificate's \
            SHA-256 fingerprint: browsers warn about a self-signed certificate, so compare the \
            fingerprint the browser shows (certificate details) with this one before you accept \
            it, or install the certificate as trusted on the staff machines. Then add the two \
            printed lines to [web] in gatehouse.toml (as `journal init` prints its table) and \
            restart `gatehouse web`. Replace the pair with one from your organisation's \
            certificate authority when you have it. Run it as the gateway's user.

            Examples:
              gatehouse web cert
              gatehouse web cert --host gatehouse.hmp-northgate.example --host 10.20.0.5 --days 365
            """
    )

    @OptionGroup var homeOptions: HomeOptions

    @Option(name: .customLong("host"), help: ArgumentHelp(
        "A host name or IP address browsers use to reach the pages (repeat for several; the first is "
            + "the certificate's common name).", valueName: "NAME"))
    var hosts: [String] = []

    @Option(help: ArgumentHelp("How many days the certificate is valid (1 to 398).", valueName: "N"))
    var days = 365

    @Flag(help: "Replace an existing certificate and key.")
    var force = false

    func run() throws {
        let home = try homeOptions.initialised()
        try WebCommand.requireGatewayUser(home, command: "gatehouse web cert")
        let card = try KeyStore(home: home).loadOwnCard()
        let names = hosts.isEmpty ? ["localhost", "127.0.0.1", "::1"] : hosts
        let made: SelfSignedCertificate
        do {
            made = try SelfSignedCertificate.make(hosts: names, organisation: "\(card.name) (\(card.org))", days: days)
        } catch {
            throw CommandFailure(status: .invalidInput, message: error.message, hint: "see `gatehouse web cert --help`")
        }
        let folder = home.path + "/web"
        let certificatePath = folder + "/tls-certificate.pem"
        let keyPath = folder + "/tls-key.pem"
        try FileOperations.makeDirectory(folder, mode: 0o700)
        if !force {
            for path in [certificatePath, keyPath] where FileManager.default.fileExists(atPath: path) {
                throw CommandFailure(
                    status: .invalidInput, message: "\(path) already exists",
                    hint: "add --force to replace the certificate and key (browsers that accepted the old one "
                        + "will warn again)")
            }
        }
        // The key first: a crash between the two writes leaves a pair that does not match,
        // which `gatehouse web` refuses at start with a message, never a half-written key.
        try FileOperations.replaceAtomically(at: keyPath, contents: Array(made.keyPEM.utf8), mode: 0o600)
        try FileOperations.replaceAtomically(
            at: certificatePath, contents: Array(made.certificatePEM.utf8), mode: 0o644)
        let config = try GatehouseConfig.load(home: home)
        let inUse = config.web.tlsCertificate == certificatePath && config.web.tlsKey == keyPath
        let day = ISO8601DateFormatter.string(from: made.notValidAfter, timeZone: .gmt, formatOptions: .withFullDate)
        print("""
            Wrote \(certificatePath) and the key \(keyPath) (mode 0600)
            names: \(names.joined(separator: ", "))
            valid until: \(day)
            SHA-256 fingerprint: \(made.fingerprint)
            """)
        if inUse {
            print("[web] in \(home.configPath) already names them: restart `gatehouse web` to serve the new pair.")
        } else {
            print("""
                Add to [web] in \(home.configPath), then restart `gatehouse web`:
                tls_certificate = "\(certificatePath)"
                tls_key = "\(keyPath)"
                """)
        }
    }
}
