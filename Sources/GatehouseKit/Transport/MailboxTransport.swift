public import GatehouseFormat

/// A mailbox server: one mailbox per organisation. A gateway delivers into a partner's mailbox
/// and collects from its own. Implemented by the directory transport and, later, SFTP.
///
/// Final names in a mailbox are `<bundle id>.ghb` (bundles), `<bundle id>.<receiver>.ghr`
/// (receipts; `<bundle id>.<receiver>.held.ghr` for a `held` one) and `<sender>.<manifest version>.ghk` (key-manifest control bundles). Anything starting with a dot is a transfer in progress and is never listed.
public protocol MailboxTransport: Sendable {
    /// Puts the local file at `path` into `org`'s mailbox as `name`: written under a temporary
    /// name, made durable, then renamed without overwriting. If `name` is already there with
    /// the same size (a retry after a crash), that counts as delivered.
    func deliver(_ path: String, to org: ODSCode, as name: String) async throws

    /// True when ``deliver(growing:to:as:)`` sends the bytes while they are written (seal while
    /// uploading); false when it can only wait for the complete file.
    var deliversWhileSealing: Bool { get }

    /// Delivers a bundle that is still being sealed, as ``deliver(_:to:as:)`` does, sending its
    /// bytes as `growing` reports them written where the transport can; the final name is
    /// published only after the producer's ``GrowingFile/release(publish:)`` says so, and nothing
    /// is left if it says no.
    func deliver(growing: GrowingFile, to org: ODSCode, as name: String) async throws

    /// The final names waiting in `org`'s mailbox.
    func list(_ org: ODSCode) async throws -> [String]

    /// Copies `name` from `org`'s mailbox to the new local file `path`. The copy is scratch, not
    /// synced: the original stays in the mailbox until it has been handled, and a crash before
    /// that fetches it again. A file larger than `maxBytes` is not copied: this throws
    /// ``MailboxItemTooLarge`` (the receiver's `[limits] bundle_max_mb`, checked before any byte
    /// is written).
    func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64) async throws

    /// True when ``fetch(_:from:to:maxBytes:progress:)`` reports each range as it is written,
    /// so that the bundle can be opened while it downloads; false when it reports only the end.
    var fetchesProgressively: Bool { get }

    /// Copies `name` as ``fetch(_:from:to:maxBytes:)`` does, reporting the copy's progress to
    /// `progress` (its temporary and final paths, bytes written, the length once complete, or
    /// the failure), for a reader that follows it (``FollowingSource``).
    func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64, progress: GrowingFile) async throws

    /// Removes `name` from `org`'s mailbox; removing what is already gone is not an error.
    func remove(_ name: String, from org: ODSCode) async throws

    /// Returns when `org`'s mailbox may hold something not listed before, or after about
    /// `timeout`. Transports that cannot be told of new mail just sleep (polling).
    func waitForMail(_ org: ODSCode, upTo timeout: Duration) async

    /// True when the transport tells of uploads arriving in the own mailbox and can follow them
    /// (``follow(_:in:maxBytes:consume:)``); false by default.
    var followsUploads: Bool { get }

    /// As ``waitForMail(_:upTo:)``, and with `uploads` also when an upload in progress not yet
    /// returned by ``uploadsInProgress(_:)`` is there. By default the plain wait.
    func waitForMail(_ org: ODSCode, upTo timeout: Duration, uploads: Bool) async

    /// The uploads in progress in `org`'s mailbox (the own). Throws ``FollowFailure/unsupported(_:)``
    /// by default.
    func uploadsInProgress(_ org: ODSCode) async throws -> [ArrivingUpload]

    /// Reads the upload in progress `name` (a temporary name from ``uploadsInProgress(_:)``) in
    /// `org`'s mailbox as it grows, handing its bytes to `consume` in order, until its sender
    /// publishes that very file: returns the final name and size. Throws ``FollowFailure`` when
    /// it is abandoned, replaced, rewritten or shrinks (what was consumed is then no bundle:
    /// discard it and collect the published file, if any, as usual), and ``MailboxItemTooLarge``
    /// past `maxBytes`. Throws ``FollowFailure/unsupported(_:)`` by default.
    func follow(
        _ name: String, in org: ODSCode, maxBytes: UInt64, consume: (ArraySlice<UInt8>) async throws -> Void
    ) async throws -> FollowedUpload
}

/// A mailbox file larger than the fetch allowed; nothing was copied.
public struct MailboxItemTooLarge: Error, Sendable, CustomStringConvertible {
    /// The mailbox name.
    public let name: String
    /// Its size, and the most the fetch allowed.
    public let size: UInt64
    public let limit: UInt64

    /// The error for `name`.
    public init(name: String, size: UInt64, limit: UInt64) {
        self.name = name
        self.size = size
        self.limit = limit
    }

    public var description: String { "\(name) is \(size) bytes, more than the \(limit) this gateway accepts" }
}

extension MailboxTransport {
    /// Copies `name` whatever its size.
    public func fetch(_ name: String, from org: ODSCode, to path: String) async throws {
        try await fetch(name, from: org, to: path, maxBytes: .max)
    }

    public func waitForMail(_ org: ODSCode, upTo timeout: Duration) async {
        try? await Task.sleep(for: timeout)
    }

    public var deliversWhileSealing: Bool { false }

    public var fetchesProgressively: Bool { false }

    /// Copies the whole file, then reports it complete (or the failure).
    public func fetch(_ name: String, from org: ODSCode, to path: String, maxBytes: UInt64, progress: GrowingFile) async throws {
        do {
            try await fetch(name, from: org, to: path, maxBytes: maxBytes)
        } catch {
            progress.fail("\(error)")
            throw error
        }
        let size: UInt64
        do { size = try FileSource(path: path).size } catch {
            progress.fail("\(error)")
            throw error
        }
        progress.begin(temporary: path, final: path)
        progress.finish(length: size)
    }

    /// Waits for the producer's verdict, then delivers the complete file.
    public func deliver(growing: GrowingFile, to org: ODSCode, as name: String) async throws {
        var seen = growing.progress
        while seen.publish == nil {
            seen = await growing.next(after: seen)
            try Task.checkCancellation()
        }
        guard seen.publish == true, seen.failure == nil, let paths = seen.paths else {
            throw KitError.io("\(name) was not delivered: \(seen.failure ?? "the bundle was not sealed")")
        }
        try await deliver(paths.final, to: org, as: name)
    }
}

/// Mailbox names.
public enum MailboxName {
    /// The name of a bundle.
    public static func bundle(_ id: BundleID) -> String { "\(id.hex).ghb" }
    /// The name of `receiver`'s receipt for a bundle.
    public static func receipt(_ id: BundleID, from receiver: ODSCode) -> String { "\(id.hex).\(receiver.value).ghr" }
    /// The name of `receiver`'s `held` receipt for a bundle (FORMAT.md §7.1): not the final
    /// receipt's name, so that the final receipt can follow while the held one is still there
    /// (mailboxes never overwrite).
    public static func heldReceipt(_ id: BundleID, from receiver: ODSCode) -> String {
        "\(id.hex).\(receiver.value).held.ghr"
    }
    /// The name of `sender`'s key-manifest control bundle with manifest `version` (FORMAT.md §5.3).
    public static func manifest(from sender: ODSCode, version: UInt64) -> String { "\(sender.value).\(version).ghk" }

    /// What a listed name is: a bundle, a receipt (with its receiver), or something else.
    public enum Kind: Equatable, Sendable {
        case bundle(BundleID)
        case receipt(BundleID, receiver: ODSCode)
        case manifest(ODSCode, version: UInt64)
        case unknown
    }

    /// Classifies a name found in a mailbox.
    public static func classify(_ name: String) -> Kind {
        // Bytes, not Characters: a name is chosen by whoever wrote it into the mailbox.
        let parts = name.splitBytes(UInt8(ascii: ".")).map(String.init)
        if parts.count == 2, parts[1].sameBytes("ghb"), let id = try? BundleID(hex: parts[0]) { return .bundle(id) }
        // `<id>.<ODS>.ghr`, or `<id>.<ODS>.held.ghr`: a receipt either way (its contents say which).
        let held = parts.count == 4 && parts[2].sameBytes("held")
        if parts.count == 3 || held, parts[parts.count - 1].sameBytes("ghr"), let id = try? BundleID(hex: parts[0]),
           let org = try? ODSCode(parts[1]) {
            return .receipt(id, receiver: org)
        }
        if parts.count == 3, parts[2].sameBytes("ghk"), let org = try? ODSCode(parts[0]), let version = UInt64(parts[1]),
           String(version).sameBytes(parts[1]) {
            return .manifest(org, version: version)
        }
        return .unknown
    }
}
