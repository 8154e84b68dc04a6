public import GatehouseKit
public import GatehouseFormat

/// The folders of a gateway's spool (see spool/README.md).
public struct SpoolLayout: Sendable {
    /// `<home>/spool`.
    public let root: String

    /// The layout under `home`.
    public init(home: GatehouseHome) { root = home.path + "/spool" }

    /// Records to send, one folder per recipient: `outbox/<ODS>/`.
    public var outbox: String { root + "/outbox" }
    /// Acknowledged originals, per bundle.
    public var sent: String { root + "/sent" }
    /// Records that could not be sent, with reasons.
    public var failed: String { root + "/failed" }
    /// Verified, published records: `received/<sender>/<bundle id>/`.
    public var received: String { root + "/received" }
    /// Refused bundles and receipts, with reasons.
    public var quarantine: String { root + "/quarantine" }
    /// Bundles from organisations not pinned here, kept unopened until their card is added:
    /// `held/<bundle id>/` with the bundle and `reason.txt`.
    public var held: String { root + "/held" }
    /// Raw bundles and receipts kept as evidence: `evidence/out/`, `evidence/in/`.
    public var evidence: String { root + "/evidence" }
    /// Work in progress: claimed originals and sealed bundles (`work/out/`), fetched bundles (`work/in/`).
    public var work: String { root + "/work" }
    /// Claimed originals and the sealed bundle of an outgoing bundle.
    public func outgoingWork(_ bundleID: BundleID) -> String { "\(work)/out/\(bundleID.hex)" }
    /// The sealed bundle of an outgoing bundle.
    public func sealedBundle(_ bundleID: BundleID) -> String { "\(work)/out/\(bundleID.hex).ghb" }
    /// The key-manifest version last delivered to each partner: `manifests/<ODS>`.
    public var manifests: String { root + "/manifests" }
    /// Notifications waiting to be sent (`[notify]`), one file per event and target.
    public var notify: String { root + "/notify" }
    /// The journal.
    public var journal: String { root + "/journal.sqlite" }

    /// Creates every folder (private to the gateway's user: they hold patient data).
    public func create() throws(KitError) {
        for folder in [root, outbox, sent, failed, received, quarantine, held,
                       evidence, evidence + "/out", evidence + "/in",
                       work, work + "/out", work + "/in", manifests] {
            try FileOperations.makeDirectory(folder, mode: 0o700)
        }
    }
}
