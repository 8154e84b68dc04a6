import GatehouseCrypto
public import GatehouseFormat

/// A bundle opened and published.
public struct OpenedBundle: Sendable {
    /// The verified outer layer.
    public let envelope: VerifiedEnvelope
    /// The verified manifest.
    public let manifest: Manifest
    /// The folder the files were published in.
    public let destination: String
    /// Set when the sender's key is revoked but signed before its revocation: the verdict to record.
    public let signerNote: String?
}

extension Gateway {
    /// Verifies, decrypts and checks the bundle at `path`, then publishes its files and manifest
    /// in `destination` in one step. Nothing appears there unless every check passed.
    /// `now` (seconds since 1970) decides whether a superseded signing key's grace window is still open.
    /// `limits` bound the file count and declared sizes, checked with the free space before
    /// anything is written.
    /// `access` is the modes and group the published files and folder get (``PublishTarget``).
    public func open(_ path: String, into destination: String, stagingParent: String? = nil, now: UInt64 = KeyStore.now(),
                     limits: ReceiveLimits = ReceiveLimits(), access: PublishAccess = .private) throws -> OpenedBundle {
        try open(path, now: now, limits: limits, publisher: { () throws(SystemError) in
            try StagedPublisher(destination: destination, stagingParent: stagingParent, access: access)
        }, destination: { _ in nil })
    }

    /// Like ``open(_:into:stagingParent:now:limits:access:)``, but the destination is chosen from
    /// the verified manifest (a workflow's folder), once every check has passed; the staging
    /// folder is made in `stagingParent`, which must be on the destination's file system.
    public func open(_ path: String, stagingParent: String, now: UInt64 = KeyStore.now(),
                     limits: ReceiveLimits = ReceiveLimits(), access: PublishAccess = .private,
                     destination: (Manifest) throws -> String) throws -> OpenedBundle {
        try open(path, now: now, limits: limits,
                 publisher: { () throws(SystemError) in try StagedPublisher(stagingParent: stagingParent, access: access) },
                 destination: destination)
    }

    /// Like ``open(_:stagingParent:now:limits:access:destination:)``, from `source`: a file
    /// still being downloaded (``FollowingSource``), whose size the download has checked.
    public func open(_ source: any RewindableByteSource, stagingParent: String, now: UInt64 = KeyStore.now(),
                     limits: ReceiveLimits = ReceiveLimits(), access: PublishAccess = .private,
                     destination: (Manifest) throws -> String) throws -> OpenedBundle {
        try open(source, now: now, limits: limits,
                 publisher: { () throws(SystemError) in try StagedPublisher(stagingParent: stagingParent, access: access) },
                 destination: destination)
    }

    private func open(_ path: String, now: UInt64, limits: ReceiveLimits,
                      publisher makePublisher: () throws(SystemError) -> StagedPublisher,
                      destination: (Manifest) throws -> String?) throws -> OpenedBundle {
        let source: FileSource
        do { source = try FileSource(path: path) } catch { throw Self.error(error, input: true) }
        guard source.size <= UInt64(max(0, limits.bundleMaxBytes)) else {
            throw FormatError.tooLarge("the bundle is \(source.size) bytes; this gateway accepts at most \(limits.bundleMaxBytes) ([limits] bundle_max_mb)")
        }
        return try open(source, now: now, limits: limits, publisher: makePublisher, destination: destination)
    }

    private func open(_ source: any RewindableByteSource, now: UInt64, limits: ReceiveLimits,
                      publisher makePublisher: () throws(SystemError) -> StagedPublisher,
                      destination: (Manifest) throws -> String?) throws -> OpenedBundle {
        let own = try keys.loadOwnCard()
        let publisher: StagedPublisher
        do { publisher = try makePublisher() } catch { throw Self.error(error, input: false) }
        // One pass (FORMAT.md §3.10, "Opening in one pass"): chunks are decrypted into private
        // staging as their bytes are hashed; nothing is published before every check has passed.
        var signerNote: String?
        let keys = self.keys
        let opened = try OnePassOpener(reader: own.org).open(source, senderKey: { (header) throws(FormatError) in
            let signer = try senderKey(for: header, now: now)
            signerNote = signer.note
            return signer.key
        }, decryptionKey: { id in
            if let key = try keys.loadEncryptionKey(id: id) { return key }
            // Sealed to a key this organisation retired: say which and when. (A key-store
            // problem, such as permissions or damage, is thrown by the load above as such.)
            guard let record = own.manifest.record(for: id) else { return nil }
            let when: String = switch record.state {
            case .current: "current, but its secret is not in keys/"
            case .superseded(_, let until): "superseded; its grace window ended at \(RFC3339.format(until) ?? "?") and it was destroyed"
            case .revoked(let at, let reason): "revoked at \(RFC3339.format(at) ?? "?") (\(reason.rawValue)) and destroyed"
            }
            throw FormatError.notARecipient("the bundle is sealed to \(own.org)'s encryption key \(id), which is \(when)")
        }, into: LimitedSink(publisher, limits: limits, folder: publisher.staging))
        let envelope = opened.envelope, manifest = opened.manifest
        let target = try destination(manifest)
        do {
            try publisher.addFile(named: StagedPublisher.manifestJSONName,
                                  contents: ManifestDocument(manifest, bundleSHA256: envelope.bundleSHA256).json())
            try publisher.addFile(named: StagedPublisher.manifestRawName, contents: manifest.encoded)
            try publisher.publish(to: target)
        } catch {
            throw Self.error(error, input: false)
        }
        return OpenedBundle(envelope: envelope, manifest: manifest, destination: publisher.destination, signerNote: signerNote)
    }

    /// Reads a bundle's cleartext header and, when the sender is pinned, checks its outer
    /// signature, decrypting nothing.
    public func inspect(_ path: String) throws -> BundleInspection {
        let source: FileSource
        do { source = try FileSource(path: path) } catch { throw Self.error(error, input: true) }
        let (header, _) = try BundleVerifier.readHeader(from: source)
        do { try source.rewind() } catch { throw Self.error(error, input: true) }
        let signature: BundleInspection.Signature
        do {
            _ = try BundleVerifier.verify(source) { (header) throws(FormatError) in try senderKey(for: header).key }
            signature = .valid
        } catch {
            signature = switch error.category {
            case .unknownSender, .unknownKey: .unknownSender
            case .authenticationFailed: .invalid
            default: .malformed(error.description)
            }
        }
        return BundleInspection(header: header, length: source.size, signature: signature)
    }
}

/// What `inspect` learns without decrypting.
public struct BundleInspection: Sendable {
    /// The outer signature's state.
    public enum Signature: Sendable, Equatable {
        /// Verifies against the sender's pinned key.
        case valid
        /// Does not verify.
        case invalid
        /// The sender is not pinned here, so it could not be checked.
        case unknownSender
        /// The bundle is damaged.
        case malformed(String)
    }

    /// The cleartext header.
    public let header: BundleHeader
    /// The bundle's size in bytes.
    public let length: UInt64
    /// The outer signature's state.
    public let signature: Signature
}
