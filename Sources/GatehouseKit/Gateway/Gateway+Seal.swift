import GatehouseCrypto
public import GatehouseFormat

/// What to seal and for whom.
public struct SealRequest: Sendable {
    /// Paths of the files to seal; each is published under its base name.
    public var paths: [String]
    /// Recipient organisations.
    public var recipients: [ODSCode]
    /// Also seal to this organisation's own key, so it can re-read what it sent.
    public var includeSelf = true
    /// Free text for staff (manifest only).
    public var subject = ""
    /// The patient's NHS number for every file (manifest only).
    public var nhsNumber: String?
    /// Where to write the bundle; nil means `<bundle id>.ghb` in `defaultFolder`.
    public var output: String?
    /// Folder for the default output name.
    public var defaultFolder = "."
    /// The bundle id, assigned by the caller before any side effect (default: a new one).
    public var bundleID = BundleID.random()

    /// A request to seal `paths` for `recipients`.
    public init(paths: [String], recipients: [ODSCode]) {
        self.paths = paths
        self.recipients = recipients
    }
}

/// A sealed bundle written to disk.
public struct SealedBundleFile: Sendable {
    /// What the format produced.
    public let bundle: SealedBundle
    /// Where it was written.
    public let path: String
}

extension Gateway {
    /// Seals the requested files into a new bundle file, written durably and never over an
    /// existing file.
    public func seal(_ request: SealRequest, now: UInt64 = KeyStore.now()) throws -> SealedBundleFile {
        let own = try keys.loadOwnCard()
        var recipients: [SealRecipient] = []
        for org in request.recipients where !recipients.contains(where: { $0.org == org }) {
            let card = org == own.org ? own : try partners.requireCard(for: org)
            recipients.append(SealRecipient(org: org, key: card.encryptionKey))
        }
        if request.includeSelf && !recipients.contains(where: { $0.org == own.org }) {
            recipients.append(SealRecipient(org: own.org, key: own.encryptionKey))
        }
        var inputs: [SealInput] = []
        for path in request.paths {
            let source: FileSource
            do { source = try FileSource(path: path) } catch { throw Self.error(error, input: true) }
            let name = DurableFile.split(path).name
            do { try FileNameRule.validate(name) } catch { throw KitError.invalidInput("cannot send \(path): \(error.detail)", path: path) }
            inputs.append(SealInput(name: name, size: source.size, nhsNumber: request.nhsNumber, source: source))
        }
        let signingKey = try keys.loadSigningKey()
        let output = request.output ?? "\(request.defaultFolder)/\(request.bundleID.hex).ghb"
        let file: DurableFile
        do { file = try DurableFile(path: output, mode: 0o644) } catch { throw Self.error(error, input: false) }
        let sealer = BundleSealer(sender: own.org, recipients: recipients, subject: request.subject)
        let sealed = try sealer.seal(bundleID: request.bundleID, createdAt: now, files: inputs, signingKey: signingKey, to: file)
        do { try file.commit() } catch { throw Self.error(error, input: false) }
        return SealedBundleFile(bundle: sealed, path: output)
    }
}
