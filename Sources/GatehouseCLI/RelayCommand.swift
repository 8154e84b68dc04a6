import ArgumentParser
import Foundation
import Glibc
import GatehouseFormat
import GatehouseKit
import GatehouseRelay

/// `gatehouse relay …`: a mailbox relay on OpenSSH's sshd.
struct RelayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Set up and run a mailbox relay: OpenSSH sshd serving `gatehouse sftp-server`.",
        discussion: """
            A relay holds one mailbox per registered organisation and sees only ciphertext. It \
            runs an unprivileged sshd with its own host key and a generated configuration: key \
            login only, each organisation's key confined to `gatehouse sftp-server` for its own \
            mailbox, no passwords, shells or forwarding.

            Examples:
              gatehouse relay init --home /srv/relay --listen 0.0.0.0:2222 --public-address relay.example.org:2222
              gatehouse relay address --home /srv/relay
              gatehouse relay add --home /srv/relay A81001.card
              gatehouse relay run --home /srv/relay
              gatehouse relay remove --home /srv/relay Q12345
            """,
        subcommands: [Init.self, Address.self, Add.self, Remove.self, Run.self, Follow.self]
    )

    /// The relay folder option, shared by every subcommand.
    struct RelayOptions: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("The relay's folder (default: $GATEHOUSE_HOME, else the current folder).", valueName: "dir"))
        var home: String?

        var relay: Relay { Relay(path: GatehouseHome.resolve(explicit: home).path) }

        /// Runs `body`, giving a missing or existing relay folder relay-specific hints.
        func explained<T>(_ body: (Relay) throws -> T) throws -> T {
            do {
                return try body(relay)
            } catch let error as KitError where error.category == .notInitialised {
                throw CommandFailure(status: .keyStoreProblem, message: error.message,
                                     hint: "create the relay with `gatehouse relay init --listen HOST:PORT`, or point --home at the relay's folder")
            } catch let error as KitError where error.category == .alreadyInitialised {
                throw CommandFailure(status: .keyStoreProblem, message: error.message,
                                     hint: "this folder is already a relay: `gatehouse relay address` prints its address; use another --home for a new one")
            }
        }
    }

    /// `gatehouse relay init --listen HOST:PORT`.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a relay: its folder, SSH host key and relay.toml.",
            discussion: """
                Prints the mailbox address to give to organisations (`gatehouse init --mailbox ADDRESS`).

                Examples:
                  gatehouse relay init --home /srv/relay --listen 0.0.0.0:2222 --public-address relay.example.org:2222
                  gatehouse relay init --home /srv/relay --listen 127.0.0.1:2222 --quota-bytes 10737418240
                  gatehouse relay init --home /srv/relay --listen 127.0.0.1:2222 --sender-quota-files 5000
                """
        )

        @OptionGroup var options: RelayOptions

        @Option(help: ArgumentHelp("Where sshd listens, e.g. 127.0.0.1:2222 or 0.0.0.0:2222.", valueName: "host:port"))
        var listen: String

        @Option(name: .customLong("public-address"), help: ArgumentHelp("The host and port organisations connect to (default: the listen address).", valueName: "host:port"))
        var publicAddress: String?

        @Option(name: .customLong("quota-bytes"), help: "Most bytes one mailbox may hold, all senders (default 10 GiB).")
        var quotaBytes: UInt64 = MailboxQuotas().mailboxBytes

        @Option(name: .customLong("quota-files"), help: "Most files one mailbox may hold, all senders (default 100000).")
        var quotaFiles = MailboxQuotas().mailboxFiles

        @Option(name: .customLong("sender-quota-bytes"), help: "Most bytes one sender may keep in a mailbox (default 2 GiB).")
        var senderQuotaBytes: UInt64 = MailboxQuotas().senderBytes

        @Option(name: .customLong("sender-quota-files"), help: "Most files one sender may keep in a mailbox (default 10000).")
        var senderQuotaFiles = MailboxQuotas().senderFiles

        func run() throws {
            var settings: RelaySettings
            do { settings = try RelaySettings(listen: listen, publicAddress: publicAddress) } catch { throw ValidationError(error.message) }
            guard quotaBytes > 0, quotaFiles > 0, senderQuotaBytes > 0, senderQuotaFiles > 0 else {
                throw ValidationError("quotas must be positive")
            }
            settings.quotas = MailboxQuotas(mailboxBytes: quotaBytes, mailboxFiles: quotaFiles,
                                            senderBytes: senderQuotaBytes, senderFiles: senderQuotaFiles)
            let address = try options.explained { try $0.initialise(settings) }
            print("Relay created in \(options.relay.path).")
            print("Host key fingerprint: \(address.hostKeyFingerprint)")
            print("Mailbox address (for `gatehouse init --mailbox` or `gatehouse identity set-mailbox`):")
            print(address.description)
        }
    }

    /// `gatehouse relay address`.
    struct Address: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the relay's mailbox address, host key included, on one line.",
            discussion: """
                Organisations collecting here pass it to `gatehouse init --mailbox "ADDRESS"`; it \
                goes, signed, on their identity cards, so partners pin the relay's host key too.

                Examples:
                  gatehouse relay address --home /srv/relay
                """
        )

        @OptionGroup var options: RelayOptions

        func run() throws { print(try options.explained { try $0.address() }.description) }
    }

    /// `gatehouse relay add CARD`.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register an organisation: its mailbox, and its SSH key in authorized_keys.",
            discussion: """
                Checks the identity card, shows its root fingerprint and asks for confirmation \
                (compare it by phone; --yes skips the question). A newer card from the same root \
                replaces the registered one (a new SSH key takes effect at once); a card with \
                another root needs --replace. Each registration is a line in the relay's \
                audit/audit.jsonl.

                Examples:
                  gatehouse relay add --home /srv/relay A81001.card
                  gatehouse relay add --home /srv/relay YOI123.card --yes
                """
        )

        @OptionGroup var options: RelayOptions

        @Argument(help: ArgumentHelp("The organisation's identity card.", valueName: "card"))
        var cardFile: String

        @Flag(help: "The fingerprint has already been compared: do not ask.")
        var yes = false

        @Flag(help: "Replace a registration made with another root key.")
        var replace = false

        func run() throws {
            let relay = options.relay
            _ = try options.explained { try $0.settings() }
            let card = try CardInput.read(cardFile)
            let planned = try relay.plannedRegistration(of: card, replace: replace)
            print("Identity card from \(cardFile):")
            print(CardSummary.lines(for: card))
            if planned == .unchanged {
                print("\(card.org) is already registered with this card; nothing changed.")
                return
            }
            if planned == .added { try CardInput.confirmFingerprint(of: card.org, assumeYes: yes) }
            try relay.register(card, replace: replace, gatehouse: try RelayBinary.path())
            let event = planned == .added ? "relay-registered" : "relay-updated"
            let detail = "root \(card.fingerprint); manifest \(card.manifest.version)"
            RelayAudit.record(AuditEvent(event, org: card.org.value, detail: detail), relay: relay)
            print("\(planned == .added ? "Registered" : "Updated") \(card.org): mailbox \(relay.mailboxesPath)/\(card.org.value)/.")
        }
    }

    /// `gatehouse relay run`.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the relay: become its sshd, in the foreground, until SIGTERM or SIGINT.",
            discussion: """
                Writes sshd_config and authorized_keys from relay.toml and the registered cards, \
                removes unfinished uploads older than a day, then becomes OpenSSH's sshd (-D -e): \
                its log (logins) goes to standard error, and SIGTERM or SIGINT stops it and ends \
                every open session (each watches the sshd that started it). Every \
                request a session refuses (time, organisation, request, path, reason) is appended \
                to log/sftp-server.log in the relay's folder.

                Examples:
                  gatehouse relay run --home /srv/relay
                  gatehouse relay run --home /srv/relay --sshd /usr/sbin/sshd
                """
        )

        @OptionGroup var options: RelayOptions

        @Option(help: ArgumentHelp("The sshd program.", valueName: "path"))
        var sshd = "/usr/sbin/sshd"

        func run() throws {
            let relay = options.relay
            let settings = try options.explained { try $0.settings() }
            try relay.writeAuthorizedKeys(gatehouse: try RelayBinary.path())
            try FileOperations.replaceAtomically(at: relay.sshdConfigPath, contents: Array(try relay.sshdConfig().utf8), mode: 0o600)
            sweepUnfinishedUploads(relay)
            // As root, sshd insists on its privilege-separation folder.
            if geteuid() == 0 { mkdir("/run/sshd", 0o755) }
            guard access(sshd, X_OK) == 0 else {
                throw CommandFailure.externalProgram("\(sshd) is not an executable sshd", hint: "install openssh-server (`make deps` does), or pass --sshd PATH")
            }
            let starting = "gatehouse relay: starting sshd on \(settings.listenHost):\(settings.listenPort) for "
                + "\(try relay.cards().count) organisation(s); refusals are logged in \(relay.refusalLogPath)\n"
            FileHandle.standardError.write(Data(starting.utf8))
            // sshd takes this process's place: signals reach it directly, and stopping it stops
            // the relay; nothing is left running behind it.
            let arguments: [UnsafeMutablePointer<CChar>?] = [sshd, "-D", "-e", "-f", relay.sshdConfigPath].map { (text: String) in strdup(text) } + [nil]
            execv(sshd, arguments)
            throw CommandFailure.externalProgram("cannot run \(sshd): \(String(cString: strerror(errno)))", hint: "install openssh-server (`make deps` does), or pass --sshd PATH")
        }

        /// Uploads cut off while sshd was killed leave dot-files the session could not remove.
        private func sweepUnfinishedUploads(_ relay: Relay) {
            let dayAgo = time(nil) - 86_400
            for org in FileOperations.listFolder(relay.mailboxesPath) ?? [] {
                let folder = "\(relay.mailboxesPath)/\(org)"
                for name in FileOperations.listFolder(folder) ?? [] where MailboxPath("\(org)/\(name)")?.isTemporary == true {
                    var info = stat()
                    if lstat("\(folder)/\(name)", &info) == 0, info.st_mtim.tv_sec < dayAgo { unlink("\(folder)/\(name)") }
                }
            }
        }
    }
}

/// The path of the running `gatehouse` binary, for the forced command in authorized_keys.
enum RelayBinary {
    static func path() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { throw CommandFailure.externalProgram("cannot find the gatehouse binary's path (/proc/self/exe)", hint: "run gatehouse on Linux with /proc mounted") }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
