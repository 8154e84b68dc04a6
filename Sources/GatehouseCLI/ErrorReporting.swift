import ArgumentParser
import Foundation
import GatehouseFormat
import GatehouseJournal
import GatehouseKit
import GatehouseSFTPClient

/// The entry point of the `gatehouse` executable.
public enum GatehouseMain {
    /// Parses `arguments`, runs the command and exits.
    ///
    /// Help and `--version` are ArgumentParser's own (exit 0). Every error, usage errors
    /// included, is printed to standard error as `gatehouse: error: …` and, when there is advice
    /// to give, `gatehouse: hint: …`; the process exits with the status from
    /// ``GatehouseExitStatus`` (64 for usage errors, whose hint is the command's usage).
    public static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        // Writing to a child (ssh) that has exited must fail with EPIPE, not end the process.
        signal(SIGPIPE, SIG_IGN)
        var command: any ParsableCommand
        do {
            command = try GatehouseCommand.parseAsRoot(arguments)
        } catch {
            UsageReport.exit(error, command: UsageReport.command(named: arguments))
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error where isArgumentParserError(error) {
            // Help requests, clean exits and validation errors raised while running.
            UsageReport.exit(error, command: type(of: command))
        } catch {
            var report = ErrorReport(error)
            if report.status == .usage { report.hints += UsageReport.hints(for: type(of: command)) }
            report.print()
            exit(report.status.rawValue)
        }
        fflush(nil)
        exit(GatehouseExitStatus.success.rawValue)
    }

    /// True for ArgumentParser's own errors (some of its types are internal, so the module name
    /// is the only reliable test), which ArgumentParser reports itself.
    private static func isArgumentParserError(_ error: any Error) -> Bool {
        if error is CommandFailure || error is KitError || error is FormatError || error is SFTPTransportError || error is SFTPClientError { return false }
        return error is ExitCode || error is CleanExit || error is ValidationError
            || String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }
}

/// How an error is shown to a person: message, optional hint, exit status.
struct ErrorReport {
    /// The exit status.
    let status: GatehouseExitStatus
    /// The `gatehouse: error:` text.
    let message: String
    /// The `gatehouse: hint:` lines, when there is useful advice.
    var hints: [String]

    init(status: GatehouseExitStatus, message: String, hint: String?) {
        self.status = status
        self.message = message
        hints = hint.map { [$0] } ?? []
    }

    /// Writes the report to standard error, after anything already printed.
    func print() {
        var text = "gatehouse: error: \(message)\n"
        for hint in hints { text += "gatehouse: hint: \(hint)\n" }
        fflush(nil)
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// The report for any error a command may throw.
    init(_ error: any Error) {
        switch error {
        case let error as CommandFailure: self.init(status: error.status, message: error.message, hint: error.hint)
        case let error as KitError: self = Self.report(error)
        case let error as FormatError: self = Self.report(error)
        case let error as SystemError:
            self.init(status: .ioError, message: error.description,
                      hint: error.isDiskFull ? "free some space on the disk and try again" : "check that the path exists and that you may read and write it")
        case let error as SFTPTransportError:
            self.init(status: .ioError, message: error.description,
                      hint: "the bundle was not delivered; a running gateway retries by itself, or run the command again once the relay is reachable")
        case let error as JournalError:
            let status: GatehouseExitStatus = switch error.kind {
            case .membership: .busy
            case .configuration: .invalidInput
            case .database: .ioError
            }
            self.init(status: status, message: error.message, hint: error.hint)
        case let error as SFTPClientError:
            self.init(status: .ioError, message: "the relay refused: \(error)", hint: "check the mailbox address and the relay's quotas and log")
        default: self.init(status: .internalError, message: "internal error: \(error)", hint: "this is a bug in gatehouse; please report it with the command you ran")
        }
    }

    /// The hint for a FIFO, device, socket or folder named where a file is read.
    static let notRegularHint = "name a regular file; gatehouse never reads from a FIFO, device or socket "
        + "(save what a program writes into a file first)"

    private static let resend = "the bundle is damaged or was tampered with in transit; do not use it, and ask the sender to send it again"

    /// Format errors from bundles and receipts. Errors from parsing identity cards are wrapped by
    /// the commands (``CommandFailure/invalidCard(_:_:)``) so that they report status 11.
    static func report(_ error: FormatError) -> ErrorReport {
        let (status, hint): (GatehouseExitStatus, String?) = switch error.category {
        case .malformed: (.bundleMalformed, "the file is not a Gatehouse bundle or is incomplete; ask the sender to send it again")
        case .unknownSender: (.unknownSender, "import the sender's identity card with `gatehouse partners add CARD`, after comparing its fingerprint by phone")
        case .authenticationFailed: (.authenticationFailed, "the bundle was not signed by its sender's pinned key, or was changed after signing; do not trust it, and call the sender")
        case .notARecipient: (.notARecipient, "the bundle is addressed to other organisations or to a retired key; check `gatehouse identity show` and ask the sender which card they used")
        case .decryptionFailed: (.decryptionFailed, resend)
        case .integrityCheckFailed: (.integrityCheckFailed, resend)
        case .decompressionFailed: (.decompressionFailed, resend)
        case .invalidInput: (.invalidInput, nil)
        case .io: (.ioError, "check that the path exists, that you may read and write it, and that the disk is not full")
        case .revokedKey: (.revokedKey, "the sender signed with a key it has revoked or replaced; do not trust it, and call the sender")
        case .unknownKey: (.unknownSender, "the sender signed with a key its manifest held here does not name; when its newer card arrives (the gateway receives it by itself) try again, or import it with `gatehouse partners add CARD`")
        case .expired: (.revokedKey, "the key has expired or its grace window has ended; ask the sender to send it again with their current keys")
        case .tooLarge: (.tooLarge, "the bundle is larger than [limits] in gatehouse.toml allows, or the disk has too little room for it; raise the limit or free space if the sender is expected to send this much")
        }
        return ErrorReport(status: status, message: error.description, hint: hint)
    }

    /// Home-folder errors.
    static func report(_ error: KitError) -> ErrorReport {
        let path = error.path ?? "the file"
        let (status, hint): (GatehouseExitStatus, String?) = switch error.category {
        case .notInitialised: (.keyStoreProblem, "run `gatehouse init --org ODS --name NAME`, or point --home (or $GATEHOUSE_HOME) at an initialised home folder")
        case .alreadyInitialised: (.keyStoreProblem, "this home folder already has an identity; use another --home, or move its keys/ folder away first (keys are never overwritten)")
        case .unsafePermissions: (.keyStoreProblem, "after `chmod 600 \(path)`, if anyone else could have read the key, treat it as exposed and tell your security officer")
        case .keyFileInvalid: (.keyStoreProblem, "\(path) was changed or damaged; restore the keys/ folder from your backup")
        case .rootKeyUnavailable:
            (.keyStoreProblem, "pass --root-key FILE naming the root key kept off this machine (the file "
                + "`gatehouse keys protect-root --out` wrote); restore it from your backup only if it is lost")
        case .wrongPassphrase:
            (.keyStoreProblem, "give the passphrase again (--passphrase-file FILE reads its first line); "
                + "restore the file from your backup only if the right passphrase fails too")
        case .passphraseUnavailable:
            (.usage, "give the passphrase with --passphrase-file FILE (its first line), "
                + "or run the command on a terminal to be asked for it")
        case .unknownPartner: (.partnerProblem, "import the partner's identity card with `gatehouse partners add CARD`")
        case .partnerConflict: (.partnerProblem, "if the partner really has new keys, call them, compare the new fingerprint, then run `gatehouse partners add CARD --replace`")
        case .invalidCard: (.partnerProblem, "import the partner's card again with `gatehouse partners add CARD --replace`")
        case .invalidInput: (.invalidInput, nil)
        case .fileExists: (.invalidInput, "choose another file name, or remove \(path) first (gatehouse never overwrites it)")
        case .notRegularFile: (.invalidInput, notRegularHint)
        case .io: (.ioError, "check that the path exists, that you may read and write it, and that the disk is not full")
        case .permissionDenied: (.ioError, "read-only commands (inbox, status, receipt show) work for members of "
            + (error.group.map { "the group '\($0)'" } ?? "the home folder's group")
            + " once the home is set up for operators (docs/OPERATIONS.md, \"Staff and operator access\"); "
            + "ask for membership (`usermod -aG \(error.group ?? "GROUP") $USER`, then log in again), or run it as the gateway's user")
        case .busy: (.busy, "stop the other process first (`systemctl stop gatehouse`, or kill the PID named), or wait for it to finish")
        }
        return ErrorReport(status: status, message: error.message, hint: hint)
    }
}
