import GatehouseFormat

/// A failure decided by a command itself (rather than the format or the home folder), with the
/// exit status and hint it should be reported with.
struct CommandFailure: Error, CustomStringConvertible {
    /// The exit status the failure maps to.
    let status: GatehouseExitStatus
    /// What failed, in words.
    let message: String
    /// What the user can do about it.
    let hint: String?

    var description: String { message }

    /// A card that does not parse or verify; `source` names where it came from.
    static func invalidCard(_ source: String, _ error: FormatError) -> CommandFailure {
        CommandFailure(
            status: .partnerProblem,
            message: "\(source) is not a valid identity card: \(error.detail)",
            hint: "ask the partner to export the card again with `gatehouse identity export -o FILE` and send the file unchanged")
    }

    /// The person did not confirm the fingerprint.
    static func fingerprintNotConfirmed(_ org: ODSCode) -> CommandFailure {
        CommandFailure(
            status: .partnerProblem,
            message: "the fingerprint of \(org) was not confirmed; nothing was stored",
            hint: "call \(org) on a number you already know, compare the fingerprint digit by digit, then run the command again (or pass --yes once it matches)")
    }

    /// The person did not confirm a change; `what` says what was left undone.
    static func notConfirmed(_ what: String) -> CommandFailure {
        CommandFailure(status: .partnerProblem, message: "\(what) (not confirmed)",
                       hint: "run the command again and answer y, or pass --yes")
    }

    /// A file the user named could not be read; `message` names it.
    static func unreadableInput(_ message: String) -> CommandFailure {
        CommandFailure(status: .invalidInput, message: message, hint: "check the file name and that the file is readable")
    }

    /// A program Gatehouse runs (sshd) is missing or failed.
    static func externalProgram(_ message: String, hint: String) -> CommandFailure {
        CommandFailure(status: .ioError, message: message, hint: hint)
    }
}
