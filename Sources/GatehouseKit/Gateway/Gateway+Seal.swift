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
    /// Subject, workflow and NHS numbers (manifest only).
    public var context = PackContext()
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
    /// existing file. Each path is opened once (a link named is followed; what it leads to must
    /// be a regular file, and a FIFO or device is refused at once, never waited on) and sealed
    /// from that descriptor.
    public func seal(_ request: SealRequest, now: UInt64 = KeyStore.now()) throws -> SealedBundleFile {
        var files: [SealFile] = []
        for path in request.paths {
            let source: FileSource
            do { source = try FileSource(path: path) } catch { throw Self.error(error, input: true) }
            files.append(SealFile(name: DurableFile.split(path).name, source: source))
        }
        return try seal(request, files: files, now: now)
    }

    /// Seals files the caller has already opened and checked (the daemon's claimed originals),
    /// reading each from its descriptor; `request.paths` is not used.
    ///
    /// With `growing`, the bundle file's progress is reported there as it is written (an upload
    /// follows it): begun when the file is created, finished once it is committed (synced and
    /// renamed), failed if sealing throws. Publishing is left to the caller's `release`.
    public func seal(_ request: SealRequest, files: [SealFile], now: UInt64 = KeyStore.now(),
                     growing: GrowingFile? = nil) throws -> SealedBundleFile {
        do {
            let sealed = try sealFiles(request, files: files, now: now, growing: growing)
            growing?.finish(length: sealed.bundle.length)
            return sealed
        } catch {
            growing?.fail("sealing failed: \(error)")
            throw error
        }
    }

    private func sealFiles(_ request: SealRequest, files: [SealFile], now: UInt64,
                           growing: GrowingFile?) throws -> SealedBundleFile {
        let own = try keys.loadOwnCard()
        var recipients: [SealRecipient] = []
        for org in request.recipients where !recipients.contains(where: { $0.org == org }) {
            let card = org == own.org ? own : try partners.requireResolvedCard(for: org)
            recipients.append(SealRecipient(org: org, key: card.encryptionKey))
        }
        if request.includeSelf && !recipients.contains(where: { $0.org == own.org }) {
            recipients.append(SealRecipient(org: own.org, key: own.encryptionKey))
        }
        var inputs: [SealInput] = []
        for file in files {
            do { try FileNameRule.validate(file.name) } catch {
                // The path holds the refused name: shown escaped, so that a bidirectional override
                // or a line break in it never reaches a terminal or a log as it is.
                let shown = ReadableText.shown(file.source.path)
                throw KitError.invalidInput("cannot send \(shown): \(error.detail)", path: file.source.path)
            }
            inputs.append(SealInput(name: file.name, size: file.source.size, source: file.source))
        }
        let signingKey = try keys.loadSigningKey()
        let output = request.output ?? "\(request.defaultFolder)/\(request.bundleID.hex).ghb"
        let file: DurableFile
        do { file = try DurableFile(path: output, mode: 0o644) } catch { throw Self.error(error, input: false) }
        if let growing {
            growing.begin(temporary: file.temporaryPath, final: output)
            file.onWritten = { growing.advance(to: $0) }
        }
        var sealer = BundleSealer(sender: own.org, recipients: recipients, context: request.context)
        // The directory checkpoint trusted here travels with the bundle: a recipient shown
        // another log by the same authority catches it on opening (DIRECTORY.md §7.2).
        sealer.directoryCheckpoint = DirectoryClient(home: home).trustedCheckpoint()
        let sealed = try sealer.seal(bundleID: request.bundleID, createdAt: now, files: inputs, signingKey: signingKey, to: file)
        do { try file.commit() } catch { throw Self.error(error, input: false) }
        return SealedBundleFile(bundle: sealed, path: output)
    }
}

/// A file opened for sealing and the name it is published under.
public struct SealFile {
    /// The name recipients will see.
    public let name: String
    /// The open file; its size when opened is the size the bundle declares.
    public let source: FileSource

    /// `source`, published as `name`.
    public init(name: String, source: FileSource) {
        self.name = name
        self.source = source
    }
}
