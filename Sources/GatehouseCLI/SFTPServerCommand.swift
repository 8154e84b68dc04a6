import ArgumentParser
import GatehouseFormat
import GatehouseRelay

/// `gatehouse sftp-server --org ODS --root DIR`.
struct SFTPServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sftp-server",
        abstract: "Serve SFTP on standard input and output, confined to the mailbox rules.",
        discussion: """
            Run by sshd as the forced command of one organisation's key; `gatehouse relay` writes \
            these lines in authorized_keys, e.g.
              command="gatehouse sftp-server --org A81001 --root /srv/relay/mailboxes \
            --log /srv/relay/log/sftp-server.log",restrict ssh-ed25519 AAAA…
            The organisation may list, read and remove in its own mailbox (ROOT/ODS/); another \
            session's upload in progress there it may only list (mailbox-uploads@gatehouse), read \
            and ask whether it was published (mailbox-upload-state@gatehouse). In a \
            registered organisation's mailbox it may only create new files under a temporary \
            dot-name and publish them with posix-rename@openssh.com under a new name (a receipt \
            or key manifest only under its own ODS code), never overwriting, and never look at, \
            remove or replace anything published there. Quotas hold per mailbox and per sender \
            (each sender's share of a mailbox). Everything else is refused with an SFTP status and \
            a line in the --log file (time, organisation, request, path, reason; at most 10 lines \
            a second per session). Without --log, lines go to standard error, which sshd sends to \
            the client, so they say only what the client was answered. With --relay-pid-file \
            (written by `gatehouse relay run`), the session ends when the relay's sshd stops, \
            and never starts without it.

            Examples (as sshd runs it; not typed by people):
              gatehouse sftp-server --org A81001 --root /srv/relay/mailboxes --log /srv/relay/log/sftp-server.log
              gatehouse sftp-server --org YOI123 --root /srv/relay/mailboxes --sender-quota-bytes 1073741824
            """
    )

    @Option(
        help: ArgumentHelp("The organisation whose key this session authenticated.", valueName: "ods"),
        transform: ODSCode.fromArgument)
    var org: ODSCode

    @Option(
        help: ArgumentHelp("The mailbox server folder (one sub-folder per registered organisation).", valueName: "dir"))
    var root: String

    @Option(help: ArgumentHelp("The refusal log, appended to (created 0640).", valueName: "file"))
    var log: String?

    @Option(
        name: .customLong("relay-pid-file"),
        help: ArgumentHelp(
            "The relay's sshd pid file: the session ends when that sshd (which must have started it) exits.",
            valueName: "file"))
    var relayPIDFile: String?

    @Option(
        name: .customLong("quota-bytes"),
        help: "Most bytes one mailbox may hold, all senders together (default 10 GiB).")
    var quotaBytes: UInt64 = MailboxQuotas().mailboxBytes

    @Option(
        name: .customLong("quota-files"),
        help: "Most files one mailbox may hold, all senders together (default 100000).")
    var quotaFiles = MailboxQuotas().mailboxFiles

    @Option(
        name: .customLong("sender-quota-bytes"), help: "Most bytes one sender may keep in a mailbox (default 2 GiB).")
    var senderQuotaBytes: UInt64 = MailboxQuotas().senderBytes

    @Option(
        name: .customLong("sender-quota-files"), help: "Most files one sender may keep in a mailbox (default 10000).")
    var senderQuotaFiles = MailboxQuotas().senderFiles

    func validate() throws {
        guard quotaBytes > 0, quotaFiles > 0, senderQuotaBytes > 0, senderQuotaFiles > 0 else {
            throw ValidationError("quotas must be positive")
        }
    }

    func run() throws {
        let quotas = MailboxQuotas(
            mailboxBytes: quotaBytes, mailboxFiles: quotaFiles, senderBytes: senderQuotaBytes,
            senderFiles: senderQuotaFiles)
        let refusals = RefusalLog(file: log, org: org)
        guard let relayPIDFile else {
            return MailboxServer(org: org, root: root, quotas: quotas, log: refusals).serve()
        }
        // A stopped relay serves no one: a session that cannot find the sshd that started it
        // (the relay stopped or restarted meanwhile) ends before answering anything.
        let listener: RelayListener
        do { listener = try RelayListener(pidFile: relayPIDFile) } catch {
            return refusals.note("session refused: \(error)")
        }
        MailboxServer(org: org, root: root, quotas: quotas, log: refusals).serve(lifeline: listener.descriptor)
        _ = consume listener
    }
}
