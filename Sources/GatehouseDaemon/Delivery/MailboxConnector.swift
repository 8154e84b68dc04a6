public import GatehouseFormat
public import GatehouseKit
import GatehouseSFTPClient
import Logging
import Synchronization

/// Gives the engine a transport for each organisation's mailbox and keeps it: one long-lived
/// SFTP session per organisation (partners' mailboxes, and the own one for collecting), made
/// again only when the address changes.
public final class MailboxConnector: Sendable {
    private let home: GatehouseHome
    private let logger: Logger
    private let config: GatehouseConfig
    private let own: IdentityCard
    private let cache = Mutex<[ODSCode: (MailboxAddress, any MailboxTransport)]>([:])

    /// A connector for the gateway at `home`, whose card is `own`, with `config`'s overrides.
    public init(home: GatehouseHome, own: IdentityCard, config: GatehouseConfig, logger: Logger) {
        self.home = home
        self.own = own
        self.config = config
        self.logger = logger
    }

    /// Where `org` collects its mail: `gatehouse.toml`'s override, else the address on its card
    /// (this organisation's own, or the pinned partner's); nil when neither names one.
    public func address(of org: ODSCode) throws -> MailboxAddress? {
        if org == own.org { return try config.mailbox ?? own.mailbox.map { (text) throws(KitError) in try MailboxAddress(text) } }
        guard let card = try PartnerStore(home: home).resolvedCard(for: org) else { return nil }
        return try config.mailbox(for: card)
    }

    /// The transport for `org`'s mailbox, or an error saying that none is configured.
    public func transport(for org: ODSCode) throws -> any MailboxTransport {
        guard let address = try address(of: org) else { throw Self.noAddress(org) }
        return try transport(for: org, at: address)
    }

    /// The error for an organisation whose mailbox is named nowhere.
    public static func noAddress(_ org: ODSCode) -> KitError {
        .invalidInput("no mailbox address for \(org): its identity card names none and gatehouse.toml sets none")
    }

    /// `HOME/ssh`: the known-hosts files written from the mailbox addresses.
    public var sshFolder: String { home.path + "/ssh" }

    /// How `ssh` logs in for `org`'s mailbox: this organisation's key, and a known-hosts file of
    /// that mailbox's own (written from its address at each connection).
    func sshInvocation(for org: ODSCode) throws -> SSHInvocation {
        try FileOperations.makeDirectory(sshFolder, mode: 0o700)
        return SSHInvocation(identityFile: try KeyStore(home: home).sshKeyFile(),
                             knownHostsFile: "\(sshFolder)/known_hosts.\(org.value)",
                             hostKeyAlias: "gatehouse-mailbox-\(org.value)")
    }

    /// The transport for `org`'s mailbox at `address`.
    public func transport(for org: ODSCode, at address: MailboxAddress) throws -> any MailboxTransport {
        if let (cached, transport) = cache.withLock({ $0[org] }), cached == address { return transport }
        let transport: any MailboxTransport
        switch address {
        case .directory(let path):
            transport = DirectoryTransport(root: path, watching: config.mailboxWatching)
        case .sftp(let server):
            let ssh = try sshInvocation(for: org)
            let logger = self.logger
            // Reconnecting backs off like deliveries do: a relay back up is used within retry_max.
            transport = SFTPTransport(address: server, ssh: ssh, backoffInitial: config.retryInitial,
                                      backoffMax: min(.seconds(60), config.retryMax)) { message in
                logger.info("\(message)", metadata: ["gatehouse.partner": "\(org.value)"])
            }
        }
        let replaced = cache.withLock { cache in
            defer { cache[org] = (address, transport) }
            return cache[org]?.1
        }
        if let old = replaced as? SFTPTransport { Task { await old.close() } }
        return transport
    }
}
