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
}

extension Gateway {
    /// Verifies, decrypts and checks the bundle at `path`, then publishes its files and manifest
    /// in `destination` in one step. Nothing appears there unless every check passed.
    public func open(_ path: String, into destination: String, stagingParent: String? = nil) throws -> OpenedBundle {
        let own = try keys.loadOwnCard()
        let source: FileSource
        do { source = try FileSource(path: path) } catch { throw Self.error(error, input: true) }
        let publisher: StagedPublisher
        do { publisher = try StagedPublisher(destination: destination, stagingParent: stagingParent) } catch { throw Self.error(error, input: false) }
        // Outer signature first: nothing is decrypted or inflated before it verifies.
        let envelope = try BundleVerifier.verify(source) { (header) throws(FormatError) in try senderKey(for: header) }
        do { try source.rewind() } catch { throw Self.error(error, input: true) }
        if let stanza = envelope.header.stanzas.first(where: { $0.recipient == own.org }) {
            // Load the key once here so a key-store problem (permissions, damage) is reported
            // as such rather than as a failure inside the format.
            _ = try keys.loadEncryptionKey(id: stanza.keyID)
        }
        let keys = self.keys
        let manifest = try BundleOpener(reader: own.org).open(envelope, from: source, decryptionKey: { id in
            try keys.loadEncryptionKey(id: id)
        }, into: publisher)
        do {
            try publisher.addFile(named: StagedPublisher.manifestJSONName,
                                  contents: ManifestDocument(manifest, bundleSHA256: envelope.bundleSHA256).json())
            try publisher.addFile(named: StagedPublisher.manifestRawName, contents: manifest.encoded)
            try publisher.publish()
        } catch {
            throw Self.error(error, input: false)
        }
        return OpenedBundle(envelope: envelope, manifest: manifest, destination: publisher.destination)
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
            _ = try BundleVerifier.verify(source) { (header) throws(FormatError) in try senderKey(for: header) }
            signature = .valid
        } catch {
            signature = switch error.category {
            case .unknownSender: .unknownSender
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
