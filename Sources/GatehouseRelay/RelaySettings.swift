public import GatehouseCrypto
import GatehouseFormat
public import GatehouseKit
import Glibc

/// The settings in `relay.toml`.
public struct RelaySettings: Sendable, Equatable {
    /// Where sshd listens.
    public var listenHost: String
    public var listenPort: Int
    /// The host name organisations use to reach the relay (default: the listen address).
    public var publicHost: String
    /// The port organisations use (default: the listen port).
    public var publicPort: Int
    /// The SSH user organisations log in as: the account that runs the relay.
    public var user: String
    /// The quotas of every mailbox: in all, and per sender.
    public var quotas = MailboxQuotas()

    /// Settings from `--listen HOST:PORT` and an optional `--public-address HOST:PORT`.
    public init(
        listen: String, publicAddress: String? = nil, user: String = RelaySettings.currentUser()
    ) throws(KitError) {
        (listenHost, listenPort) = try Self.hostPort(listen, what: "--listen")
        (publicHost, publicPort) =
            try publicAddress.map { (text) throws(KitError) in try Self.hostPort(text, what: "--public-address") }
            ?? (listenHost, listenPort)
        self.user = user
    }

    /// The mailbox address of a relay with these settings and `hostKey`.
    public func address(hostKey: SigningPublicKey) throws(KitError) -> SFTPServerAddress {
        try SFTPServerAddress(user: user, host: publicHost, port: publicPort, hostKey: hostKey)
    }

    /// The account running this process.
    public static func currentUser() -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "gatehouse" }
        return String(cString: name)
    }

    /// `HOST:PORT` or `[IPV6]:PORT`, split on bytes: in `[::1]:\u{301}2222` the colon and the
    /// combining mark are one Character, and a Character parser took the port for 2222.
    static func hostPort(_ text: String, what: String) throws(KitError) -> (String, Int) {
        let bytes = Array(text.utf8)
        var host = bytes[...]
        var portBytes: ArraySlice<UInt8> = []
        if bytes.first == UInt8(ascii: "["), let close = bytes.firstIndex(of: UInt8(ascii: "]")) {
            host = bytes[1..<close]
            let rest = bytes[(close + 1)...]
            portBytes = rest.first == UInt8(ascii: ":") ? rest.dropFirst() : []
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            host = bytes[..<colon]
            portBytes = bytes[(colon + 1)...]
        }
        let hostText = String(decoding: host, as: UTF8.self)
        guard (1...5).contains(portBytes.count), portBytes.allSatisfy({ (0x30...0x39).contains($0) }),
            let port = Int(String(decoding: portBytes, as: UTF8.self)), (1...65535).contains(port), !host.isEmpty,
            SFTPServerAddress.isValidHost(hostText)
        else {
            throw .invalidInput(
                "\(what) \(ReadableText.shown(text)): expected HOST:PORT, e.g. 127.0.0.1:2222 or relay.example.org:2222")
        }
        return (hostText, port)
    }

    /// The listen address as `relay.toml` and `sshd_config` write it (an IPv6 host in brackets).
    var listenAddressText: String { Self.bracketed(listenHost) }

    /// `host`, in brackets when it is an IPv6 address (it holds a colon byte).
    static func bracketed(_ host: String) -> String { host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host }

    /// The text of `relay.toml`.
    public var text: String {
        """
        # Gatehouse mailbox relay (`gatehouse relay`). Changes take effect at the next `gatehouse relay run`.

        [relay]
        # Where sshd listens.
        listen = "\(listenAddressText):\(listenPort)"
        # The address organisations use to reach it (printed by `gatehouse relay address`).
        public_address = "\(Self.bracketed(publicHost)):\(publicPort)"
        # The account that runs the relay; organisations log in as this user with their own keys.
        user = "\(user)"

        [quota]
        # Most bytes and files one mailbox may hold, all senders together; uploads beyond are refused.
        bytes = \(quotas.mailboxBytes)
        files = \(quotas.mailboxFiles)
        # Most bytes and files one sender may keep in a mailbox (its share, until the mailbox's
        # owner collects them), so that no organisation can fill another's mailbox.
        sender_bytes = \(quotas.senderBytes)
        sender_files = \(quotas.senderFiles)

        """
    }

    /// Parses `relay.toml`.
    public static func parse(_ text: String, file: String) throws(KitError) -> RelaySettings {
        let reader = try ConfigReader(text, file: file)
        func string(_ key: String) throws(KitError) -> String {
            guard let entry = reader.entries[key] else { throw reader.error(0, "key '\(key)' is missing") }
            guard case .string(let value) = entry.value else {
                throw reader.error(entry.line, "key '\(key)': expected a quoted string")
            }
            return value
        }
        let quotaKeys = ["quota.bytes", "quota.files", "quota.sender_bytes", "quota.sender_files"]
        for (key, entry) in reader.entries
        where !["relay.listen", "relay.public_address", "relay.user"].contains(key)
            && !quotaKeys.contains(key)
        {
            throw reader.error(entry.line, "unknown key '\(key)'")
        }
        var settings = try RelaySettings(
            listen: try string("relay.listen"), publicAddress: try string("relay.public_address"),
            user: try string("relay.user"))
        for key in quotaKeys {
            guard let entry = reader.entries[key] else { continue }
            guard case .integer(let value) = entry.value, value > 0 else {
                throw reader.error(entry.line, "key '\(key)': expected a positive whole number")
            }
            switch key {
            case "quota.bytes": settings.quotas.mailboxBytes = UInt64(value)
            case "quota.files": settings.quotas.mailboxFiles = value
            case "quota.sender_bytes": settings.quotas.senderBytes = UInt64(value)
            default: settings.quotas.senderFiles = value
            }
        }
        return settings
    }
}
