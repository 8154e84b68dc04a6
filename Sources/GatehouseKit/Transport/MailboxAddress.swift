public import GatehouseCrypto
import GatehouseFormat

/// Where an organisation collects its mail (FORMAT.md §7): the address on its identity card,
/// overridable in `gatehouse.toml`.
public enum MailboxAddress: Sendable, Hashable, CustomStringConvertible {
    /// A mailbox server that is a folder on a shared file system: `dir:/srv/gatehouse/mailboxes`.
    /// It holds one sub-folder per organisation.
    case directory(String)
    /// A mailbox relay reached over SSH: `sftp://gatehouse@relay.example.org:2222 ssh-ed25519 AAAA…`.
    case sftp(SFTPServerAddress)

    /// Parses `dir:/absolute/path` or `sftp://[user@]host[:port] ssh-ed25519 BASE64`.
    public init(_ text: String) throws(KitError) {
        // An address is printable ASCII (FORMAT.md §5), so what follows splits on bytes.
        do { try IdentityCard.validateMailbox(text) } catch { throw .invalidInput(error.detail) }
        if text.hasBytePrefix("dir:") {
            var path = Array(text.utf8.dropFirst(4))
            guard path.first == UInt8(ascii: "/"), !path.contains(UInt8(ascii: " ")), path.count > 1 else {
                throw .invalidInput("mailbox address \(text.debugDescription): a directory mailbox is dir: followed by an absolute path")
            }
            if path.last == UInt8(ascii: "/") { path.removeLast() }
            self = .directory(String(decoding: path, as: UTF8.self))
            return
        }
        if text.hasBytePrefix("sftp://") {
            self = .sftp(try SFTPServerAddress(text))
            return
        }
        throw .invalidInput("mailbox address \(text.debugDescription) is not understood (expected dir:/absolute/path or sftp://user@host:port ssh-ed25519 AAAA…)")
    }

    /// The address as written on cards and in configuration.
    public var description: String {
        switch self {
        case .directory(let path): "dir:\(path)"
        case .sftp(let address): address.description
        }
    }
}

/// A mailbox relay's address: the SSH user, host and port, and the pinned host key.
public struct SFTPServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// The user that OpenSSH logs in as (the relay's account).
    public let user: String
    /// A DNS name or IPv4 address, or an IPv6 address without its brackets.
    public let host: String
    /// The TCP port.
    public let port: Int
    /// The relay's Ed25519 host key; any other key is refused.
    public let hostKey: SigningPublicKey

    /// The user when an address names none.
    public static let defaultUser = "gatehouse"

    /// An address from its parts.
    public init(user: String = SFTPServerAddress.defaultUser, host: String, port: Int = 22, hostKey: SigningPublicKey) throws(KitError) {
        guard Self.isValidUser(user) else {
            throw .invalidInput("SSH user \(user.debugDescription) must be 1 to 32 letters, digits, '.', '_' or '-', not starting with '-'")
        }
        guard Self.isValidHost(host) else {
            throw .invalidInput("host \(host.debugDescription) is not a DNS name, an IPv4 address or a bracketed IPv6 address")
        }
        guard (1...65535).contains(port) else { throw .invalidInput("port \(port) is not between 1 and 65535") }
        self.user = user
        self.host = host
        self.port = port
        self.hostKey = hostKey
    }

    /// Parses `sftp://[user@]host[:port][/] ssh-ed25519 BASE64`.
    public init(_ text: String) throws(KitError) {
        let shape = "expected sftp://user@host:port followed by the relay's host key (ssh-ed25519 AAAA…), as `gatehouse relay address` prints it"
        // Printable ASCII (FORMAT.md §5): each Character below is then one byte.
        do { try IdentityCard.validateMailbox(text) } catch { throw .invalidInput(error.detail) }
        let words = text.splitBytes(UInt8(ascii: " "))
        guard words.count == 3, words[0].hasBytePrefix("sftp://") else {
            throw .invalidInput("mailbox address \(text.debugDescription): \(shape)")
        }
        var location = words[0].dropFirst("sftp://".count)
        if location.hasSuffix("/") { location = location.dropLast() }
        var user = Self.defaultUser
        if let at = location.firstIndex(of: "@") {
            user = String(location[..<at])
            location = location[location.index(after: at)...]
        }
        var host = String(location)
        var port = 22
        if location.hasPrefix("[") {
            guard let close = location.firstIndex(of: "]") else { throw .invalidInput("mailbox address \(text.debugDescription): unclosed '[' in the host") }
            host = String(location[location.index(after: location.startIndex)..<close])
            let rest = location[location.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { throw .invalidInput("mailbox address \(text.debugDescription): bad port") }
                port = p
            }
        } else if let colon = location.lastIndex(of: ":") {
            host = String(location[..<colon])
            guard let p = Int(location[location.index(after: colon)...]) else {
                throw .invalidInput("mailbox address \(text.debugDescription): bad port")
            }
            port = p
        }
        let key: SigningPublicKey
        do { key = try OpenSSHKey.parsePublic("\(words[1]) \(words[2])") } catch {
            throw .invalidInput("mailbox address \(text.debugDescription): the relay's host key: \(error.detail)")
        }
        do { try self.init(user: user, host: host, port: port, hostKey: key) } catch {
            throw .invalidInput("mailbox address \(text.debugDescription): \(error.message)")
        }
    }

    /// `sftp://user@host:port ssh-ed25519 BASE64`.
    public var description: String {
        let hostPart = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        return "sftp://\(user)@\(hostPart):\(port) \(OpenSSHKey.publicLine(hostKey))"
    }

    /// The host key's fingerprint, as `ssh-keygen -l` prints it.
    public var hostKeyFingerprint: String { OpenSSHKey.fingerprint(hostKey) }

    static func isValidUser(_ user: String) -> Bool {
        let bytes = Array(user.utf8)
        return (1...32).contains(bytes.count) && bytes.first != UInt8(ascii: "-")
            && bytes.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    public static func isValidHost(_ host: String) -> Bool {
        let bytes = Array(host.utf8)
        guard (1...253).contains(bytes.count), bytes.first != UInt8(ascii: "-") else { return false }
        if bytes.contains(UInt8(ascii: ":")) {
            // IPv6: hex digits, colons and dots (for an embedded IPv4 address).
            return bytes.allSatisfy { $0.isASCIIHexDigit || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
        }
        return bytes.allSatisfy { $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool { (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self) }
    var isASCIIHexDigit: Bool { (0x30...0x39).contains(self) || (0x41...0x46).contains(self) || (0x61...0x66).contains(self) }
}
