import Glibc
import GatehouseFormat
import GatehouseJournal
import GatehouseKit

/// Packs: folders dropped into `outbox/<ODS>/` (by a GP system's export, or by `gatehouse send`),
/// each one bundle, never split and never joined with other records.
///
/// The folder moves whole, by one rename, from the outbox to `work/out/<bundle id>/`, then to
/// `sent/<bundle id>/<pack>/` or `failed/<bundle id>/<pack>/` (ready to drop again). Its producer
/// may still reach it through a descriptor it kept, so after the claim it is only ever used
/// through a descriptor opened without following links (``FolderHandle``).
extension GatewayEngine {
    /// Claims a complete pack folder: judged whole (``PackFolder``), journalled with its context
    /// and its files **before** any side effect, then renamed into the work folder.
    func claimPack(_ file: OutboxFile) -> ClaimOutcome {
        let partner: ODSCode
        switch checkPartner(file.partner) {
        case .success(let code): partner = code
        case .failure(.refused(let reason)): return refuse(path: file.path, partner: file.partner, reason: reason)
        case .failure: return .refused(reason: "not claimed")
        }
        // A claim journalled earlier whose rename failed (a full disk): finish that one.
        if let pending = unfinishedClaims[file.path] {
            return finishPackClaim(pending, from: file.path, partner: partner)
        }
        switch PackFolder.judge(file.path, workflows: settings.workflows, writers: OpenWriterCheck()) {
        case .vanished:
            return .refused(reason: "vanished")
        case .busy(let reason):
            log(.info, "waiting for pack \(file.name.debugDescription): \(reason)", partner: partner)
            return .waiting(reason: reason)
        case .refused(let reason):
            return refuse(path: file.path, partner: file.partner, reason: reason)
        case .ready(let members, let context):
            let id = BundleID.random()
            let now = clock.now()
            let work = spool.outgoingWork(id)
            var record = OutgoingRecord(bundleID: id, partner: partner, createdAt: now,
                                        expiresAt: now + RetryPolicy.milliseconds(settings.expiry))
            record.updatedAt = now
            let files = members.enumerated().map { position, member in
                OutgoingFile(bundleID: id, position: position, name: member.name, size: member.size,
                             sourcePath: "\(file.path)/\(member.name)", workPath: "\(work)/\(member.name)")
            }
            do {
                let detail = "claimed pack \(file.name.debugDescription), \(files.count) files"
                try journal.insert([NewOutgoing(record: record, files: files, detail: detail, context: context,
                                                pack: file.name)])
            } catch {
                log(.error, "journalling pack \(file.name.debugDescription) failed: \(error)", partner: partner)
                return .refused(reason: "\(error)")
            }
            return finishPackClaim(files[0], from: file.path, partner: partner)
        }
    }

    /// Moves a journalled pack into its work folder: one rename (nothing in it opened or
    /// followed), both folders synced. A failure leaves the claim for the next offer or recover().
    private func finishPackClaim(_ first: OutgoingFile, from path: String, partner: ODSCode) -> ClaimOutcome {
        do {
            try move(path, to: spool.outgoingWork(first.bundleID))
        } catch {
            unfinishedClaims[path] = first
            log(.error, "claiming pack \(path) failed: \(error)", bundle: first.bundleID, partner: partner)
            return .refused(reason: "\(error)")
        }
        unfinishedClaims[path] = nil
        log(.info, "claimed a pack", bundle: first.bundleID, partner: partner, state: "queued")
        return .claimed(bundleID: first.bundleID)
    }

    /// The pack folder's name when the bundle is a pack (nil for records dropped one by one).
    func packName(of bundleID: BundleID) throws -> String? { try journal.pack(of: bundleID, direction: "out")?.pack }

    /// Finishes a pack claim interrupted by a crash (journalled, not yet renamed): at start.
    func recoverPack(_ record: OutgoingRecord, name: String) throws {
        let work = spool.outgoingWork(record.bundleID)
        guard !exists(work) else { return }
        let source = "\(spool.outbox)/\(record.partner)/\(name)"
        guard exists(source) else {
            return try fail(record, reason: "the pack \(name.debugDescription) vanished before it was sealed")
        }
        try move(source, to: work)
        log(.info, "finished an interrupted claim", bundle: record.bundleID, partner: record.partner)
    }

    /// Moves a finished pack whole into `<folder>/<pack>/` (`sent/<bundle id>`, or a failed
    /// report's folder).
    func movePack(_ bundleID: BundleID, named name: String, to folder: String) throws {
        try FileOperations.makeDirectory(folder, mode: 0o700)
        let work = spool.outgoingWork(bundleID)
        if exists(work) { try move(work, to: "\(folder)/\(name)") }
    }

    /// Deletes an acknowledged pack (retention `delete`) through descriptors only: whatever its
    /// producer put in it meanwhile, no link is followed.
    func deletePack(_ bundleID: BundleID) {
        let work = spool.outgoingWork(bundleID)
        if let folder = try? FolderHandle(path: work) { folder.removeContents() }
        // A link put in place of the folder is removed itself.
        if rmdir(work) != 0 && errno == ENOTDIR { unlink(work) }
    }

    // MARK: Receiving: a folder per workflow

    /// Where received packs are published by default, and how: the `[publish]` folder when
    /// configured, else `spool/received/`, private, staged in `work/in`.
    nonisolated var publishTarget: PublishTarget {
        settings.publish ?? PublishTarget(root: spool.received, staging: "\(spool.work)/in")
    }

    /// The folder packs of `workflow` are published in: its own (`[workflows.NAME] folder`), or
    /// the default (``publishTarget``'s root).
    nonisolated func publishRoot(for workflow: Workflow) -> String {
        settings.workflows.publishFolder(for: workflow, home: gateway.home) ?? publishTarget.root
    }

    /// Where bundle `id` from `sender` was published already (before a crash, not yet journalled).
    func publishedFolder(of id: BundleID, from sender: ODSCode) -> String? {
        var roots = [publishTarget.root]
        for root in [spool.received] + settings.workflows.folders.keys.sorted().map(publishRoot)
            where !roots.contains(root) { roots.append(root) }
        return roots.map { "\($0)/\(sender.value)/\(id.hex)" }.first(where: exists)
    }

    /// Creates each `[workflows.NAME] folder` (its parent must exist) with the publish access
    /// (private, or the `[publish]` group's 0750) and checks that it is on the file system of the
    /// staging folder (`work/in`, or the `[publish]` folder's): a pack is published there by
    /// renaming its staging folder, which cannot cross file systems. Called at start, so a
    /// mistake stops the gateway with a clear error instead of leaving every such pack in the
    /// mailbox.
    nonisolated func checkWorkflowFolders() throws(KitError) {
        let target = publishTarget
        var stagingInfo = stat()
        guard stat(target.staging, &stagingInfo) == 0 else {
            throw FileOperations.kitError(SystemError("inspecting", target.staging))
        }
        for workflow in settings.workflows.folders.keys.sorted() {
            let folder = publishRoot(for: workflow)
            var info = stat()
            if lstat(folder, &info) != 0 {
                do {
                    try target.access.makeFolder(folder)
                    try DurableFile.syncFolder(DurableFile.split(folder).folder)
                } catch { throw FileOperations.kitError(error) }
            }
            guard stat(folder, &info) == 0 else { throw FileOperations.kitError(SystemError("inspecting", folder)) }
            guard info.st_dev == stagingInfo.st_dev else {
                throw .invalidInput("[workflows.\(workflow)] folder \(folder) is on another file system than "
                    + "\(target.staging); received packs are renamed into place, so it must be on the same one",
                                    path: folder)
            }
        }
    }
}
