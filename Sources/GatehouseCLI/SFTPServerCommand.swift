import ArgumentParser
import GatehouseFormat
import GatehouseRelay

/// `gatehouse sftp-server --org ODS --root DIR`.
struct SFTPServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sftp-server",
        abstract: "Serve SFTP on standard input and output, confined to the mailbox rules.",
        discussion: """
            Run by sshd as the forced command of one organisation's key, e.g. in authorized_keys:
              command="gatehouse sftp-server --org A81001 --root /srv/gatehouse/mailboxes",restrict ssh-ed25519 AAAA…
            The organisation may list, read and remove in its own mailbox (ROOT/ODS/), and may only \
            create new files under a temporary dot-name in a registered organisation's mailbox and \
            publish them with posix-rename@openssh.com, never overwriting. Everything else is refused \
            with an SFTP status and logged on standard error.

            Examples (as sshd runs it; not typed by people):
              gatehouse sftp-server --org A81001 --root /srv/relay/mailboxes
              gatehouse sftp-server --org YOI123 --root /srv/relay/mailboxes --quota-bytes 1073741824
            """
    )

    @Option(help: ArgumentHelp("The organisation whose key this session authenticated.", valueName: "ods"), transform: ODSCode.fromArgument)
    var org: ODSCode

    @Option(help: ArgumentHelp("The mailbox server folder (one sub-folder per registered organisation).", valueName: "dir"))
    var root: String

    @Option(name: .customLong("quota-bytes"), help: "Most bytes one mailbox may hold (default 10 GiB).")
    var quotaBytes: UInt64 = 10 << 30

    @Option(name: .customLong("quota-files"), help: "Most files one mailbox may hold (default 100000).")
    var quotaFiles = 100_000

    func run() throws {
        MailboxServer(org: org, root: root, quotaBytes: quotaBytes, quotaFiles: quotaFiles).serve()
    }
}
