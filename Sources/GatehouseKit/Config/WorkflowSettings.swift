public import GatehouseFormat

/// `[workflows]` in `gatehouse.toml`: the kinds of pack this gateway sends, the one a pack that
/// names none is sent as, and where received packs of a workflow are published.
public struct WorkflowSettings: Sendable, Equatable {
    /// The workflows this gateway's packs may name (`send --workflow`, a pack's `.gatehouse.toml`).
    public var names: [Workflow] = Workflow.standard
    /// The workflow of a pack that names none.
    public var defaultWorkflow: Workflow = .other
    /// Where received packs of a workflow are published instead of `spool/received/`, as given:
    /// an absolute path or one relative to the home folder (see ``publishFolder(for:home:)``).
    /// Any workflow, whether or not in `names`: partners may send others.
    public var folders: [Workflow: String] = [:]

    /// The defaults.
    public init() {}

    /// The workflow a pack names, checked against `names`; the default when it names none. The
    /// error lists the workflows this gateway knows.
    public func accepted(_ text: String?) throws(KitError) -> Workflow {
        guard let text else { return defaultWorkflow }
        let workflow: Workflow
        do { workflow = try Workflow(text) } catch { throw .invalidInput(error.detail) }
        guard names.contains(workflow) else {
            throw .invalidInput("workflow \(workflow) is not one this gateway sends "
                + "([workflows] names in gatehouse.toml: " + names.map(\.value).joined(separator: ", ") + ")")
        }
        return workflow
    }

    /// The folder received packs of `workflow` are published in (`<folder>/<sender>/<bundle id>/`):
    /// its `[workflows.NAME] folder`, resolved against the home folder when relative, or nil for
    /// the default, `spool/received/`.
    public func publishFolder(for workflow: Workflow, home: GatehouseHome) -> String? {
        guard let folder = folders[workflow] else { return nil }
        return folder.utf8.first == UInt8(ascii: "/") ? folder : "\(home.path)/\(folder)"
    }

    static func workflow(_ entry: ConfigReader.Entry, _ at: (String) -> KitError) throws(KitError) -> Workflow {
        guard case .string(let text) = entry.value else {
            throw at("expected a quoted workflow like \"reception-summary\"")
        }
        do { return try Workflow(text) } catch { throw at(error.detail) }
    }

    static func list(_ entry: ConfigReader.Entry, _ at: (String) -> KitError) throws(KitError) -> [Workflow] {
        guard case .strings(let texts) = entry.value, !texts.isEmpty else {
            throw at("expected a one-line list of quoted workflows like [\"reception-summary\", \"other\"]")
        }
        var list: [Workflow] = []
        for text in texts {
            let workflow: Workflow
            do { workflow = try Workflow(text) } catch { throw at(error.detail) }
            guard !list.contains(workflow) else { throw at("\(workflow) is listed twice") }
            list.append(workflow)
        }
        return list
    }

    static func folder(_ entry: ConfigReader.Entry, _ at: (String) -> KitError) throws(KitError) -> String {
        guard case .string(let text) = entry.value, !text.isEmpty, !text.utf8.contains(0) else {
            throw at("expected a quoted folder, absolute or relative to the home folder, "
                + "like \"/srv/gatehouse/reception\"")
        }
        // A relative folder may not climb out of the home folder by accident.
        guard !text.split(separator: "/").contains("..") else { throw at("a folder may not contain '..'") }
        return text
    }
}
