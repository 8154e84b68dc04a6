public import ArgumentParser
import GatehouseFormat
public import GatehouseKit

/// The `gatehouse` command: secure record exchange between GP practices and the healthcare
/// teams of places of detention.
public struct GatehouseCommand: ParsableCommand {
    /// The command tree. Each command lives in its own file; add new ones to `subcommands`.
    public static let configuration = CommandConfiguration(
        commandName: "gatehouse",
        abstract: "Exchange signed, end-to-end encrypted patient records between organisations.",
        discussion: """
            Gatehouse carries GP records into custody and back to the GP on release. Each \
            organisation has a home folder (--home, else $GATEHOUSE_HOME, else the current \
            folder) holding its secret keys under keys/ and its partners' identity cards under \
            partners/.

            Start with `gatehouse init`, send your card (`gatehouse identity export`) to each \
            partner, import theirs with `gatehouse partners add`, and compare fingerprints by phone. \
            Then `gatehouse run` watches spool/outbox/<ODS>/, delivers to each partner's mailbox, \
            publishes what arrives under spool/received/, and exchanges signed receipts; \
            `gatehouse status` and `gatehouse inbox` show where everything is.

            Examples:
              gatehouse init --org A81001 --name "Riverside Medical Practice"
              gatehouse partners add YOI123.card
              gatehouse send summary.xml --to YOI123 --wait
              gatehouse status
              gatehouse <command> --help
            """,
        version: "gatehouse \(GatehouseVersion.current)",
        subcommands: [
            InitCommand.self,
            IdentityCommand.self,
            PartnersCommand.self,
            RelayCommand.self,
            AuditCommand.self,
            KeysCommand.self,
            SealCommand.self,
            OpenCommand.self,
            InspectCommand.self,
            DeliverCommand.self,
            SendCommand.self,
            ReceiptCommand.self,
            StatusCommand.self,
            InboxCommand.self,
            RunCommand.self,
            DoctorCommand.self,
            ConfigCommand.self,
            JournalCommand.self,
            NotifyCommand.self,
            NetworkCommand.self,
            SFTPServerCommand.self,
            WebCommand.self,
            UsersCommand.self,
        ]
    )

    /// Creates the root command (ArgumentParser requires it).
    public init() {}
}

/// The `--home DIR` option shared by every command that uses the home folder.
public struct HomeOptions: ParsableArguments {
    /// The home folder given on the command line, if any.
    @Option(name: .long, help: ArgumentHelp(
        "The organisation's home folder (default: $GATEHOUSE_HOME, else the current folder).",
        valueName: "dir"))
    public var home: String?

    /// Creates empty options (ArgumentParser requires it).
    public init() {}

    /// The home folder to use: `--home`, else `$GATEHOUSE_HOME`, else the current folder.
    public var resolved: GatehouseHome { GatehouseHome.resolve(explicit: home) }

    /// The resolved home, which must have been initialised (`notInitialised` otherwise).
    public func initialised() throws(KitError) -> GatehouseHome {
        let home = resolved
        // Permission denied is not "no identity": a staff account outside the home's group.
        guard try HomeAccess.readable(home.ownCardPath, in: home) else {
            throw .notInitialised("\(home.path) has no Gatehouse identity (no \(home.ownCardPath))", path: home.ownCardPath)
        }
        return home
    }

    /// The resolved home for a read-only command (`inbox`, `status`, `receipt show`), which
    /// members of the home's operator group may run without the keys: a private keys/ folder is
    /// expected then, and any other refusal is reported as permission denied, not "no identity".
    public func readable() throws(KitError) -> GatehouseHome {
        let home = resolved
        do throws(KitError) {
            guard try HomeAccess.readable(home.ownCardPath, in: home) else {
                throw KitError.notInitialised("\(home.path) has no Gatehouse identity (no \(home.ownCardPath))", path: home.ownCardPath)
            }
        } catch where error.category == .permissionDenied && error.path == home.keysPath {
            // keys/ stays 0700 to the gateway's user: an operator reads the journal only.
        }
        return home
    }
}

extension ODSCode {
    /// Parses an ODS code typed by a person: upper-cased, then validated (3 to 9 letters and
    /// digits). For `@Option(transform: ODSCode.fromArgument)`, so a bad code is a usage error.
    static func fromArgument(_ text: String) throws -> ODSCode {
        do { return try ODSCode(userInput: text) } catch { throw ValidationError(error.detail) }
    }
}
