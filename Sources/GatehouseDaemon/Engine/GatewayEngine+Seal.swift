import Glibc
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

extension GatewayEngine {
    /// Called with the bundle id after a bundle is written and before its originals are checked
    /// again: tests change an original there, as a writer that had not finished would.
    @TaskLocal package static var afterSealing: (@Sendable (BundleID) -> Void)?

    /// Seals a queued bundle from its claimed originals in the work folder.
    ///
    /// Each original is opened once (``OriginalFile``: no link followed, no blocking) and judged
    /// on that descriptor, whatever happened to its path since the claim or before a crash:
    /// - a link, FIFO, device or file with a second name is never sealed: it goes to `failed/`
    ///   with a reason and leaves the bundle (all of them: the bundle fails, with its report);
    /// - a file still open for writing, or whose size is not the one journalled at the claim,
    ///   is not complete: the bundle waits a stable window and is tried again ("claimed again":
    ///   the journal takes the new size);
    /// - the bundle is sealed from those descriptors, then each is checked again (size,
    ///   modification and change times): if one changed while it was read, the bundle is
    ///   discarded before anything records it, and waits in the same way.
    ///
    /// A pack is sealed whole or not at all: its folder is opened without following a link and
    /// its files relative to it, and one file refused fails the whole bundle.
    ///
    /// With `growing`, the bundle file's progress is reported there as it is written, for an
    /// upload that follows it (``sealAndDeliver(_:)``).
    func seal(_ record: inout OutgoingRecord, growing: GrowingFile? = nil) {
        do {
            let files = try journal.files(of: record.bundleID)
            let pack = try journal.pack(of: record.bundleID, direction: "out")
            let output = spool.sealedBundle(record.bundleID)
            // A bundle left by a crash before it was journalled was never delivered: reseal.
            unlink(output)
            var folder: FolderHandle?
            if let name = pack?.pack {
                do { folder = try FolderHandle(path: spool.outgoingWork(record.bundleID)) } catch {
                    try fail(record, reason: "not sent: the pack \(name.debugDescription) cannot be opened: \(error)")
                    record.state = .failed
                    return
                }
            }
            let writers = OpenWriterCheck()
            var ready: [(file: OutgoingFile, source: FileSource)] = []
            var refused: [(file: OutgoingFile, reason: String)] = []
            var resized: [(position: Int, size: Int64)] = []
            var incomplete: String?
            for file in files {
                let verdict = folder.map { OriginalFile.open(file.name, in: $0, writers: writers) }
                    ?? OriginalFile.open(file.workPath, writers: writers)
                switch verdict {
                case .ready(let source) where Int64(source.size) != file.size:
                    resized.append((file.position, Int64(source.size)))
                    incomplete = "\(ReadableText.shown(file.name)) changed after it was claimed "
                        + "(\(file.size) bytes then, \(source.size) now)"
                case .ready(let source): ready.append((file, source))
                case .busy(let reason): incomplete = "\(ReadableText.shown(file.name)) is \(reason)"
                case .refused(let reason): refused.append((file, reason))
                case .vanished: refused.append((file, "vanished from the work folder before it was sealed"))
                }
            }
            if !refused.isEmpty {
                // A pack is never split: one refused file and the whole pack goes back.
                guard refused.count < files.count, pack?.pack == nil else {
                    let reasons = refused.map { "\(ReadableText.shown($0.file.name)): \($0.reason)" }
                    let whole = pack?.pack.map { "the pack \(ReadableText.shown($0)) travels whole, and " } ?? ""
                    try fail(record, reason: "not sent: " + whole + reasons.joined(separator: "; "))
                    record.state = .failed
                    return
                }
                for (file, reason) in refused { try refuseMember(file, of: record, reason: reason) }
            }
            if let incomplete { return try waitForOriginals(&record, resized: resized, reason: incomplete) }
            var request = SealRequest(paths: [], recipients: [record.partner])
            request.context = pack?.context ?? PackContext(workflow: settings.workflows.defaultWorkflow)
            request.bundleID = record.bundleID
            request.output = output
            let sealed = try gateway.seal(request, files: ready.map { SealFile(name: $0.file.name, source: $0.source) },
                                          now: UInt64(record.createdAt / 1000), growing: growing)
            Self.afterSealing?(record.bundleID)
            let changed = try ready.compactMap { file, source in
                let now = try source.currentStatus()
                return source.status.isUnchanged(at: now) ? nil : (file: file, size: Int64(now.size))
            }
            if let first = changed.first {
                // Never recorded as sealed, so never delivered: the bytes read may be half a record.
                unlink(output)
                let reason = "\(ReadableText.shown(first.file.name)) changed while it was being sealed; "
                    + "the bundle was discarded"
                return try waitForOriginals(&record, resized: changed.map { ($0.file.position, $0.size) },
                                            reason: reason)
            }
            record.state = .sealed
            record.bundleSHA256 = sealed.bundle.bundleSHA256.hex
            record.bundleSize = Int64(sealed.bundle.length)
            record.lastError = nil
            record.updatedAt = clock.now()
            try journal.save(record, detail: "sealed, \(sealed.bundle.length) bytes")
            log(.info, "sealed", bundle: record.bundleID, partner: record.partner, state: "sealed")
            DaemonMetrics.sealed(bytes: record.bundleSize, partner: record.partner)
            audit(AuditEvent("bundle-sealed", org: record.partner, bundle: record.bundleID, sha256: record.bundleSHA256))
        } catch let error as JournalError where error.kind == .membership {
            // A node whose lease ran out leaves the bundle to the node that takes it over: what
            // it sealed is not delivered from here (the bundle may be sealed and sent by the other).
            record.state = .queued
            log(.warning, "sealing left to another node: \(error)", bundle: record.bundleID, partner: record.partner)
        } catch {
            retryLater(&record, error: "sealing failed: \(error)")
        }
    }

    /// Takes a refused original out of its bundle: it goes to `failed/` with the reason (moved
    /// by name, never opened), and the journal drops it from the bundle.
    private func refuseMember(_ file: OutgoingFile, of record: OutgoingRecord, reason: String) throws {
        if exists(file.workPath) {
            _ = refuse(path: file.workPath, partner: record.partner.value, reason: reason)
        } else {
            log(.warning, "refused \(ReadableText.shown(file.name)): \(reason)", bundle: record.bundleID,
                partner: record.partner)
        }
        try journal.removeFile(of: record.bundleID, position: file.position, at: clock.now(),
                               detail: "\(ReadableText.shown(file.name)) left the bundle: \(reason)")
    }

    /// Leaves a bundle queued until its originals are complete: the journal takes their new
    /// sizes (the files are claimed again as they are now), and sealing is tried again after the
    /// stable window. Logged once per reason, not at every try.
    private func waitForOriginals(_ record: inout OutgoingRecord, resized: [(position: Int, size: Int64)],
                                  reason: String) throws {
        let now = clock.now()
        if !resized.isEmpty {
            try journal.resizeFiles(of: record.bundleID, sizes: resized, at: now, detail: "claimed again: \(reason)")
        }
        if record.lastError != reason {
            log(.info, "not sealed yet: \(reason)", bundle: record.bundleID, partner: record.partner, state: "queued")
        }
        record.lastError = reason
        record.nextAttemptAt = now + max(100, RetryPolicy.milliseconds(settings.stableWindow))
        record.updatedAt = now
        holdBack(record)
        try journal.save(record)
    }
}
