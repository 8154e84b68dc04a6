import Glibc
import GatehouseCrypto
import GatehouseFormat
import GatehouseKit

/// Mail the gateway cannot use leaves the mailbox once, into local quarantine (evidence kept,
/// a bounded number per sender), and is logged once: a flood from one organisation must cost the
/// receiver neither its mailbox quota, nor a download every round, nor a log line per item per
/// round (one of 996 junk files was logged ~95,000 times in 50 s).
extension GatewayEngine {
    /// A name that is no bundle, receipt or key manifest: copied into quarantine (up to the
    /// bundle size limit; beyond it only its size is noted) and removed from the mailbox.
    func quarantineUnknownItem(_ name: String, mailbox: any MailboxTransport) async -> Bool {
        let folder = newQuarantineFolder("unknown")
        do {
            try FileOperations.makeDirectory(folder, mode: 0o700)
            // The copy is named `item`: the mailbox name is chosen by whoever wrote it.
            var kept = "kept as item"
            do {
                try await mailbox.fetch(name, from: own.org, to: "\(folder)/item", maxBytes: Self.keptUnknownBytes)
            } catch let tooLarge as MailboxItemTooLarge {
                kept = "not kept: \(tooLarge.size) bytes, more than the \(Self.keptUnknownBytes) kept of such items"
            }
            writeReason("UNKNOWN ITEM: \(ReadableText.shown(name)) is not a bundle, receipt or key-manifest name (\(kept))\n"
                        + "claimed sender: unknown\ngroup: \(QuarantineIndex.unverified)", to: "\(folder)/reason.txt")
            try await mailbox.remove(name, from: own.org)
            log(.warning, "moved \(ReadableText.shown(name)) out of the mailbox into \(folder): "
                + "not a bundle, receipt or key-manifest name")
            audit(AuditEvent("mailbox-item-quarantined", detail: "unknown name"))
            keepQuarantineBounded(folder, group: QuarantineIndex.unverified)
            return true
        } catch {
            removeTree(folder)
            logFailureOnce(name, "moving \(ReadableText.shown(name)) out of the mailbox failed: \(error)")
            return false
        }
    }

    /// A bundle larger than `[limits] bundle_max_mb`: not downloaded; removed from the mailbox
    /// with a reason in quarantine. No receipt: without its bytes neither its sender nor its
    /// digest is known; its sender gets a non-delivery report when it expires.
    func quarantineOversized(_ id: BundleID, name: String, _ tooLarge: MailboxItemTooLarge, mailbox: any MailboxTransport) async throws {
        let folder = "\(spool.quarantine)/\(id.hex)"
        try FileOperations.makeDirectory(folder, mode: 0o700)
        writeReason("REFUSED (too-large): \(tooLarge); not downloaded, no receipt sent\nclaimed sender: unknown\ngroup: \(QuarantineIndex.unverified)",
                    to: "\(folder)/reason.txt")
        try await mailbox.remove(name, from: own.org)
        log(.error, "refused without downloading it: \(tooLarge) ([limits] bundle_max_mb)", bundle: id, state: "rejected")
        audit(AuditEvent("bundle-rejected", org: nil, bundle: id, detail: "too-large"))
        keepQuarantineBounded(folder, group: QuarantineIndex.unverified)
    }

    /// The most of an item under an unknown name that is kept: enough to see what it is.
    static let keptUnknownBytes: UInt64 = 1 << 20

    /// A new quarantine folder's path: `<kind>-<milliseconds>-<6 hex digits>`.
    func newQuarantineFolder(_ kind: String) -> String {
        "\(spool.quarantine)/\(kind)-\(clock.now())-\(randomBytes(3).hexString)"
    }

    /// Records `folder` as the newest quarantine item of `group` (a proven sender, or
    /// ``QuarantineIndex/unverified``), and removes the oldest items beyond
    /// `limits.quarantinePerSender` in that group and beyond `limits.quarantineMaxBytes` in all.
    /// (The reasons stay in the log and the audit log; only the kept copies go.)
    func keepQuarantineBounded(_ folder: String, group: String) {
        var index = quarantineIndex ?? readQuarantineIndex()
        let item = QuarantineIndex.Item(name: DurableFile.split(folder).name, group: group, bytes: Self.treeSize(folder))
        let removed = index.add(item, perGroup: settings.limits.quarantinePerSender, maxBytes: UInt64(max(0, settings.limits.quarantineMaxBytes)))
        for name in removed { removeTree("\(spool.quarantine)/\(name)") }
        if !removed.isEmpty {
            logFailureOnce("quarantine-bound", "quarantine is at its bounds ([limits] quarantine_per_sender \(settings.limits.quarantinePerSender) "
                           + "per group, quarantine_max_mb \(settings.limits.quarantineMaxBytes >> 20) in all); the oldest items are being removed")
        }
        quarantineIndex = index
    }

    /// The quarantine's folders, oldest first, grouped by the `group:` line of their reason.
    private func readQuarantineIndex() -> QuarantineIndex {
        var found: [(item: QuarantineIndex.Item, time: Int)] = []
        for name in list(spool.quarantine) {
            var info = stat()
            guard lstat("\(spool.quarantine)/\(name)", &info) == 0 else { continue }
            let reason = (try? FileOperations.read(at: "\(spool.quarantine)/\(name)/reason.txt", limit: 64 * 1024)) ?? nil
            let text = reason.map { String(decoding: $0, as: UTF8.self) } ?? ""
            // Lines split on the byte: a reason's detail ending in "\r" would otherwise make "\r\n"
            // one Character and hide the group's line.
            let label = "group: "
            let group = text.splitBytes(UInt8(ascii: "\n")).last { $0.hasBytePrefix(label) }
                .map { String(Substring($0.utf8.dropFirst(label.utf8.count))) } ?? QuarantineIndex.unverified
            let item = QuarantineIndex.Item(name: name, group: group, bytes: Self.treeSize("\(spool.quarantine)/\(name)"))
            found.append((item, info.st_mtim.tv_sec))
        }
        return QuarantineIndex(found.sorted { ($0.time, $0.item.name) < ($1.time, $1.item.name) }.map(\.item))
    }

    /// The bytes of the regular files under `path`.
    nonisolated static func treeSize(_ path: String) -> UInt64 {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        if info.st_mode & S_IFMT == S_IFREG { return UInt64(max(0, info.st_size)) }
        guard info.st_mode & S_IFMT == S_IFDIR else { return 0 }
        return (FileOperations.listFolder(path) ?? []).reduce(0) { $0 + treeSize("\(path)/\($1)") }
    }

    /// Logs `message` as an error unless it is the failure already logged for `key`.
    func logFailureOnce(_ key: String, _ message: String, bundle: BundleID? = nil) {
        guard itemFailures[key] != message else { return }
        itemFailures[key] = message
        log(.error, message, bundle: bundle)
    }
}
