import ArgumentParser
import GatehouseFormat
import GatehouseKit

/// `--subject`, `--nhs-number` (repeatable) and `--workflow`: what a pack is about, shared by
/// `send` and `seal`. It travels in the signed manifest, inside the encryption.
struct PackContextOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A subject line for staff (inside the encryption).", valueName: "text"))
    var subject = ""

    @Option(name: .customLong("nhs-number"), help: ArgumentHelp(
        "A patient's NHS number (repeatable; spaces allowed: \"999 000 0018\"; inside the encryption).",
        valueName: "number"))
    var nhsNumbers: [String] = []

    @Option(name: .long, help: ArgumentHelp(
        "The kind of message, one of gatehouse.toml's [workflows] names (default: its default, \"other\").",
        valueName: "name"), completion: .list(Workflow.standard.map(\.value)))
    var workflow: String?

    /// Checks what can be checked without the home folder: readable subject, valid and distinct
    /// NHS numbers, a well-formed workflow.
    func validate() throws {
        do {
            try PackContext(subject: subject, nhsNumbers: nhsNumbers.map(NHSNumber.normalise)).check()
            if let workflow { _ = try Workflow(workflow) }
        } catch {
            throw ValidationError(error.detail)
        }
    }

    /// The context, with the workflow checked against `config`'s list.
    func context(config: GatehouseConfig) throws -> PackContext {
        PackContext(subject: subject, workflow: try config.workflows.accepted(workflow),
                    nhsNumbers: nhsNumbers.map(NHSNumber.normalise))
    }
}

/// Parses a time option with ``PointInTime``, for `@Option(transform: TimeArgument.parse)`: a
/// bad time is a usage error that says what a time looks like.
enum TimeArgument {
    static func parse(_ text: String) throws -> UInt64 {
        guard let time = PointInTime.parse(text) else {
            throw ValidationError("\(text.debugDescription) is not \(PointInTime.expected)")
        }
        return time
    }
}
