public import GatehouseFormat

/// A pack's description of itself: `.gatehouse.toml` inside a folder dropped into
/// `spool/outbox/<ODS>/` (README, "Packs"). Optional; every key in it is optional:
///
///     subject = "Reception screening"
///     workflow = "reception-summary"
///     nhs_numbers = ["999 000 0018"]
///
/// It is the strict TOML subset of `gatehouse.toml` (one `key = value` a line, `#` comments, no
/// tables), read with the same reader, so an error names the line and the key. Its name starts
/// with a dot, which no record's may, so it is never sent as a record; what it says travels in
/// the signed manifest instead.
public enum PackSidecar {
    /// The file's name inside a pack folder.
    public static let name = ".gatehouse.toml"
    /// Longest sidecar read, in bytes: a subject of 1024 bytes and 64 NHS numbers fit many times.
    public static let maxLength = 16 * 1024
    /// The keys it may hold.
    static let keys = ["subject", "workflow", "nhs_numbers"]

    /// The context `bytes` describe, with the workflow checked against `workflows` (its
    /// default when none is named). Throws `invalidInput` naming the line and key at fault.
    public static func parse(_ bytes: [UInt8], workflows: WorkflowSettings) throws(KitError) -> PackContext {
        guard bytes.count <= maxLength else { throw .invalidInput("\(name) is longer than \(maxLength) bytes") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidInput("\(name) is not UTF-8 text")
        }
        let reader = try ConfigReader(text, file: name)
        if let (table, line) = reader.tables.min(by: { $0.value < $1.value }) {
            throw reader.error(line, "[\(table)]: a pack's \(name) has no tables, "
                + "only the keys \(keys.joined(separator: ", "))")
        }
        var subject = "", workflow: String?, numbers: [String] = []
        for (key, entry) in reader.entries.sorted(by: { $0.value.line < $1.value.line }) {
            let at = { (why: String) in reader.error(entry.line, "key '\(key)': \(why)") }
            switch (key, entry.value) {
            case ("subject", .string(let text)): subject = text
            case ("workflow", .string(let text)): workflow = text
            case ("nhs_numbers", .strings(let texts)): numbers = texts.map(NHSNumber.normalise)
            case ("subject", _), ("workflow", _): throw at("expected a quoted string")
            case ("nhs_numbers", _): throw at("expected a one-line list of quoted NHS numbers like [\"999 000 0018\"]")
            default: throw at("unknown key (a pack's \(name) may hold \(keys.joined(separator: ", ")))")
            }
        }
        let line = { (key: String) in reader.entries[key]?.line ?? 0 }
        // Each part checked on its own, so the error names the line it is on.
        do { try PackContext(subject: subject).check() } catch {
            throw reader.error(line("subject"), "key 'subject': \(error.detail)")
        }
        do { try PackContext(nhsNumbers: numbers).check() } catch {
            throw reader.error(line("nhs_numbers"), "key 'nhs_numbers': \(error.detail)")
        }
        do {
            return PackContext(subject: subject, workflow: try workflows.accepted(workflow), nhsNumbers: numbers)
        } catch {
            throw reader.error(line("workflow"), "key 'workflow': \(error.message)")
        }
    }

    /// The sidecar describing `context`, as `gatehouse send` writes it.
    public static func text(for context: PackContext) -> String {
        var lines = ["# Written by gatehouse send: what this pack is about (README, \"Packs\")."]
        if !context.subject.isEmpty { lines.append("subject = \(quoted(context.subject))") }
        lines.append("workflow = \(quoted(context.workflow.value))")
        if !context.nhsNumbers.isEmpty {
            lines.append("nhs_numbers = [\(context.nhsNumbers.map(quoted).joined(separator: ", "))]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A TOML basic string: readable text holds no control character, so only `"` and `\` need escapes.
    private static func quoted(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        out.append("\"")
        for scalar in text.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { out.append("\\") }
            out.append(scalar)
        }
        out.append("\"")
        return String(out)
    }
}
